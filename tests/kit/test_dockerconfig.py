"""Registry credentials from Docker's client configuration, as `docker login` and podman write it.

The rules the tests hold the reader to:
- config.json lives in $DOCKER_CONFIG, else ~/.docker (docker/cli cli/config/config.go Dir; the
  "Configuration files" section of docs/reference/commandline/cli.md);
- `auths` maps a server address to {"auth": base64("user:password")} or {"username", "password"}, and
  {"identitytoken"} after a login to an OAuth2 token service (cli/config/types/authconfig.go,
  cli/config/configfile/file.go decodeAuth); keys may be URLs ("https://host/v1/"), reduced to
  host[:port] (cli/config/credentials/file_store.go ConvertToHostname);
- `credHelpers` names a helper per host and `credsStore` one for all (configfile/file.go
  GetCredentialsStore); a helper `docker-credential-<name>` is run as `get` with the server address on
  stdin and prints {"ServerURL", "Username", "Secret"}; a Username of "<token>" makes Secret an identity
  token; a missing entry prints "credentials not found in native keychain" and exits 1
  (docker/docker-credential-helpers credentials/credentials.go Get, credentials/error.go);
- Docker Hub's entry is "https://index.docker.io/v1/" (cli/registry IndexServer);
- GitLab Runner reads the same JSON from the DOCKER_AUTH_CONFIG variable (docs: "Use statically-defined
  credentials", ci/docker/using_docker_images.md).
The helper below is a stand-in following that protocol, a shell script like the real ones' contract.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from pipeyard_kit.errors import ConfigError
from pipeyard_kit.registry import dockerconfig

HOST = "registry.example.test:5000"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_config(folder: Path, config: dict) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(folder), "PATH": os.environ.get("PATH", "")}


def helper(folder: Path, name: str, store: dict[str, tuple[str, str]]) -> Path:
    """docker-credential-<name> answering `get` from `store` (address -> (username, secret)), and
    logging each address it was asked for."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = "\n".join(
        f"  {json.dumps(address)}) printf '%s' {json.dumps(json.dumps({'ServerURL': address, 'Username': u, 'Secret': s}))};;"
        for address, (u, s) in store.items())
    script = folder / f"docker-credential-{name}"
    script.write_text(f"""#!/bin/sh
[ "$1" = get ] || {{ echo "unknown action: $1"; exit 1; }}
read -r address
echo "$address" >> "{folder}/asked"
case "$address" in
{cases}
  *) echo "credentials not found in native keychain"; exit 1;;
esac
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def test_no_configuration_means_no_credentials(tmp_path: Path) -> None:
    assert dockerconfig.lookup(HOST, {"DOCKER_CONFIG": str(tmp_path / "none")}) is None


def test_the_auth_field_as_docker_login_writes_it(tmp_path: Path) -> None:
    env = write_config(tmp_path / "d", {"auths": {HOST: {"auth": b64("ci:pa:ss")}}})
    found = dockerconfig.lookup(HOST, env)
    assert (found.username, found.password) == ("ci", "pa:ss")
    assert found.hint == f"the credentials for {HOST} in {tmp_path / 'd' / 'config.json'}"
    assert "pa:ss" not in repr(found)


def test_a_url_key_and_separate_username_and_password(tmp_path: Path) -> None:
    env = write_config(tmp_path / "d", {"auths": {f"https://{HOST}/v1/": {"username": "u", "password": "p"},
                                                  "other.test": {"auth": b64("x:y")}}})
    found = dockerconfig.lookup(HOST, env)
    assert (found.username, found.password) == ("u", "p")
    assert dockerconfig.lookup("elsewhere.test", env) is None


def test_home_docker_is_the_default_folder(tmp_path: Path) -> None:
    write_config(tmp_path / ".docker", {"auths": {HOST: {"auth": b64("h:p")}}})
    assert dockerconfig.lookup(HOST, {"HOME": str(tmp_path)}).username == "h"


def test_docker_hub_is_found_under_its_index_key(tmp_path: Path) -> None:
    env = write_config(tmp_path / "d", {"auths": {"https://index.docker.io/v1/": {"auth": b64("hub:pw")}}})
    assert dockerconfig.lookup("registry-1.docker.io", env).username == "hub"
    assert dockerconfig.lookup("docker.io", env).username == "hub"


def test_an_identity_token_is_kept_apart_from_the_password(tmp_path: Path) -> None:
    env = write_config(tmp_path / "d", {"auths": {HOST: {"auth": b64("u:"), "identitytoken": "refresh-1"}}})
    found = dockerconfig.lookup(HOST, env)
    assert (found.username, found.password, found.identity_token) == ("u", "", "refresh-1")
    assert "refresh-1" not in repr(found)


def test_docker_auth_config_comes_first_and_falls_back_to_the_file(tmp_path: Path) -> None:
    env = write_config(tmp_path / "d", {"auths": {HOST: {"auth": b64("file:f")}, "b.test": {"auth": b64("fb:f")}}})
    env["DOCKER_AUTH_CONFIG"] = json.dumps({"auths": {HOST: {"auth": b64("var:v")}}})
    assert dockerconfig.lookup(HOST, env).username == "var"
    assert dockerconfig.lookup("b.test", env).username == "fb"


def test_a_cred_helper_per_host_is_asked_for_that_host_only(tmp_path: Path) -> None:
    bin_dir = helper(tmp_path / "bin", "pipeyardtest", {HOST: ("helper-user", "helper-secret")})
    env = write_config(tmp_path / "d", {"credHelpers": {HOST: "pipeyardtest"},
                                        "auths": {"other.test": {"auth": b64("o:p")}}})
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    found = dockerconfig.lookup(HOST, env)
    assert (found.username, found.password) == ("helper-user", "helper-secret")
    assert found.hint == f"the credentials docker-credential-pipeyardtest holds for {HOST}"
    assert dockerconfig.lookup("other.test", env).username == "o"
    assert (bin_dir / "asked").read_text().split() == [HOST]


def test_creds_store_serves_every_host_and_not_found_means_none(tmp_path: Path) -> None:
    bin_dir = helper(tmp_path / "bin", "store", {HOST: ("<token>", "identity-9")})
    env = write_config(tmp_path / "d", {"credsStore": "store"})
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    found = dockerconfig.lookup(HOST, env)
    assert (found.username, found.password, found.identity_token) == ("", "", "identity-9")
    assert dockerconfig.lookup("unknown.test", env) is None


def test_a_helper_missing_from_path_is_named_with_the_fix(tmp_path: Path) -> None:
    env = write_config(tmp_path / "d", {"credHelpers": {HOST: "absent"}})
    with pytest.raises(ConfigError) as e:
        dockerconfig.lookup(HOST, env)
    assert "docker-credential-absent is not on PATH" in str(e.value)
    assert "install docker-credential-absent" in e.value.fix


def test_a_helper_that_fails_says_how_to_see_why(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-broken"
    script.write_text("#!/bin/sh\necho 'keyring is locked' >&2\nexit 3\n")
    script.chmod(0o755)
    env = write_config(tmp_path / "d", {"credsStore": "broken"})
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    with pytest.raises(ConfigError) as e:
        dockerconfig.lookup(HOST, env)
    assert str(e.value).startswith(f"docker-credential-broken failed for {HOST} (keyring is locked)")
    assert e.value.fix == f"run `echo {HOST} | docker-credential-broken get` to see why"


@pytest.mark.parametrize("text, message", [
    ("{not json", "is not valid JSON"),
    ("[]", "is not a JSON object"),
])
def test_a_broken_config_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ConfigError) as e:
        dockerconfig.lookup(HOST, {"DOCKER_CONFIG": str(tmp_path)})
    assert message in str(e.value) and str(tmp_path / "config.json") in str(e.value)


def test_an_auth_that_is_not_base64_names_the_entry_and_not_its_content(tmp_path: Path) -> None:
    env = write_config(tmp_path / "d", {"auths": {HOST: {"auth": "Sekr3t-not-base64!"}}})
    with pytest.raises(ConfigError) as e:
        dockerconfig.lookup(HOST, env)
    assert f"the auth of {HOST} is not base64 of user:password" in str(e.value)
    assert f"docker login {HOST}" in e.value.fix
    assert "Sekr3t" not in str(e.value) + e.value.fix
