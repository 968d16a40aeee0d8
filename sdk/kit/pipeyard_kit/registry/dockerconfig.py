"""Registry credentials from Docker's client configuration, read as the docker CLI reads them, so a
`docker login` (or a GitLab DOCKER_AUTH_CONFIG variable) works for pipeyard too.

Sources, as docker/cli resolves them (cli/config/configfile/file.go GetCredentialsStore and
getConfiguredCredentialStore; cli/config/credentials/{file_store,native_store}.go):
- DOCKER_AUTH_CONFIG, a config.json held in a variable (GitLab Runner reads the same variable), is
  looked at first; a registry it does not name falls back to the file;
- the file is $DOCKER_CONFIG/config.json, else ~/.docker/config.json;
- `credHelpers` names a helper per registry host; else `credsStore` names one for every registry; a
  helper is the program `docker-credential-<name>`, run as `get` with the server address on stdin, and
  answers {"ServerURL", "Username", "Secret"} (docker-credential-helpers client.Get); a Username of
  "<token>" makes Secret an identity token (an OAuth2 refresh token), and "credentials not found in
  native keychain" on a failed run means no credentials;
- otherwise `auths`: the entry whose key is the host, or whose key reduces to it once the scheme and
  path are dropped (ConvertToHostname: "https://host:5000/v1/" is "host:5000"); its `auth` is
  base64("user:password"), else `username` and `password`, and `identitytoken`.
Docker Hub's key is "https://index.docker.io/v1/" whatever name the image uses.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeyard_kit.errors import ConfigError
from pipeyard_kit.registry.credentials import Credentials

HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
HUB_KEY = "https://index.docker.io/v1/"
TOKEN_USERNAME = "<token>"
NOT_FOUND = "credentials not found in native keychain"
HELPER_TIMEOUT = 30.0
ENV_CONFIG = "DOCKER_AUTH_CONFIG"


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    folder = env.get("DOCKER_CONFIG") or str(Path(env.get("HOME") or Path.home()) / ".docker")
    return Path(folder) / "config.json"


def server_address(host: str) -> str:
    """The key docker stores a registry's credentials under."""
    return HUB_KEY if host.lower() in HUB_HOSTS else host


def to_hostname(key: str) -> str:
    if "://" in key:
        parts = urlsplit(key)
        if parts.hostname:
            return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    return key.split("/", 1)[0]


def lookup(host: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials Docker's configuration holds for this registry host, or None."""
    env = os.environ if env is None else env
    address = server_address(host)
    inline = env.get(ENV_CONFIG, "").strip()
    if inline:
        found = _from_auths(_parse(inline, ENV_CONFIG), address, ENV_CONFIG)
        if found is not None:
            return found
    path = config_path(env)
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read ({getattr(exc, 'strerror', None) or exc})",
                          fix="fix its permissions, or set PIPEYARD_REGISTRY_USERNAME and PIPEYARD_REGISTRY_PASSWORD"
                          ) from None
    config = _parse(text, str(path))
    helpers = config.get("credHelpers") or {}
    helper = helpers.get(address) if isinstance(helpers, dict) else None
    helper = helper or config.get("credsStore")
    if helper:
        if not isinstance(helper, str):
            raise ConfigError(f"{path}: credsStore and credHelpers name helper programs, not {helper!r}",
                              fix="write the helper's name, e.g. \"pass\" for docker-credential-pass")
        return _from_helper(helper, address, path, env)
    return _from_auths(config, address, str(path))


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        config = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where} is not valid JSON ({exc.msg}, line {exc.lineno})",
                          fix="repair it (docker login rewrites it), or remove it") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{where} is not a JSON object", fix="repair it, or remove it")
    return config


def _from_auths(config: dict[str, Any], address: str, where: str) -> Credentials | None:
    auths = config.get("auths") or {}
    if not isinstance(auths, dict):
        return None
    entry = auths.get(address)
    if entry is None:
        wanted = to_hostname(address) if address != HUB_KEY else address
        entry = next((v for k, v in auths.items() if to_hostname(k) == wanted), None)
    if not isinstance(entry, dict):
        return None
    hint = f"the credentials for {address} in {where}"
    user, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    if entry.get("auth"):
        try:
            raw = base64.b64decode(str(entry["auth"]), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise ConfigError(f"{where}: the auth of {address} is not base64 of user:password",
                              fix=f"log in again with `docker login {address}`") from None
        user, sep, password = raw.partition(":")
        if not sep or not user:
            raise ConfigError(f"{where}: the auth of {address} is not base64 of user:password",
                              fix=f"log in again with `docker login {address}`")
        password = password.strip("\x00")
    token = str(entry.get("identitytoken") or "")
    if token:
        return Credentials(user, "", hint, identity_token=token)
    if not user and not password:
        return None
    return Credentials(user, password, hint)


def _from_helper(name: str, address: str, path: Path, env: Mapping[str, str]) -> Credentials | None:
    program = f"docker-credential-{name}"
    exe = shutil.which(program, path=env.get("PATH"))
    if exe is None:
        raise ConfigError(f"{path} names the credential helper {name}, but {program} is not on PATH",
                          fix=f"install {program}, or set PIPEYARD_REGISTRY_USERNAME and PIPEYARD_REGISTRY_PASSWORD")
    try:
        done = subprocess.run([exe, "get"], input=address, capture_output=True, text=True, timeout=HELPER_TIMEOUT,
                              env=dict(env))
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{program} did not answer within {HELPER_TIMEOUT:g} s (for {address})",
                          fix="check the helper (it may be waiting for a locked keyring)") from None
    output = (done.stdout or "").strip()
    if done.returncode != 0:
        if NOT_FOUND in output or NOT_FOUND in (done.stderr or ""):
            return None
        reason = (output or done.stderr or "no output").strip().splitlines()[-1][:200]
        raise ConfigError(f"{program} failed for {address} ({reason})",
                          fix=f"run `echo {address} | {program} get` to see why")
    try:
        answer = json.loads(output)
        user, secret = str(answer.get("Username") or ""), str(answer.get("Secret") or "")
    except (ValueError, AttributeError):
        raise ConfigError(f"{program} answered {address} with something that is not its JSON",
                          fix=f"run `echo {address} | {program} get` to see what it prints") from None
    hint = f"the credentials {program} holds for {address}"
    if user == TOKEN_USERNAME:
        return Credentials("", "", hint, identity_token=secret) if secret else None
    return Credentials(user, secret, hint) if user or secret else None
