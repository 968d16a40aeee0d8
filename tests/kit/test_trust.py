"""The CUSTOM_CA_CERTS hook, on the host (the image tests run it inside every image too)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from pipeyard_kit.errors import ConfigError
from pipeyard_kit.trust import install_custom_ca, java_truststore, parse_certificates, shell_exports


def make_cert(folder: Path, cn: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(folder / f"{cn}.key"), "-out", str(folder / f"{cn}.pem"), "-subj", f"/CN={cn}"],
                   check=True, capture_output=True)
    return (folder / f"{cn}.pem").read_text()


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("certs")
    return make_cert(folder, "corp-root"), make_cert(folder, "corp-proxy")


@pytest.fixture
def system_bundle(tmp_path: Path) -> Path:
    path = tmp_path / "system.crt"
    path.write_text(Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt").read_text())
    return path


def test_unset_or_empty_does_nothing(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert install_custom_ca(env) is None
    env["CUSTOM_CA_CERTS"] = "  "
    assert install_custom_ca(env) is None and "SSL_CERT_FILE" not in env


def test_pem_text_is_added_to_a_user_bundle_and_exported(tmp_path: Path, certs, system_bundle: Path) -> None:
    env = {"HOME": str(tmp_path), "CUSTOM_CA_CERTS": certs[0] + certs[1]}
    bundle = install_custom_ca(env, system_bundle=system_bundle)
    assert bundle is not None and bundle.count == 2
    assert bundle.path.parent == tmp_path / ".cache" / "pipeyard" / "ca"
    text = bundle.path.read_text()
    assert text.startswith(system_bundle.read_text().rstrip("\n"))
    assert text.count("BEGIN CERTIFICATE") == system_bundle.read_text().count("BEGIN CERTIFICATE") + 2
    assert bundle.custom_path.read_text().count("BEGIN CERTIFICATE") == 2
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == env["CURL_CA_BUNDLE"] == str(bundle.path)
    assert env["NODE_EXTRA_CA_CERTS"] == str(bundle.path)  # the site CA in the system bundle too
    # The bundle is one OpenSSL actually loads, custom CAs included.
    ctx = ssl.create_default_context(cafile=str(bundle.path))
    names = {dict(x[0] for x in c["subject"]).get("commonName") for c in ctx.get_ca_certs()}
    assert {"corp-root", "corp-proxy"} <= names


def test_a_second_call_gives_the_same_files(tmp_path: Path, certs, system_bundle: Path) -> None:
    env = {"HOME": str(tmp_path), "CUSTOM_CA_CERTS": certs[0]}
    first = install_custom_ca(env, system_bundle=system_bundle)
    stamp = first.path.stat().st_mtime_ns
    second = install_custom_ca(env, system_bundle=system_bundle)
    assert second == first and first.path.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("form", ["file", "folder", "escaped"])
def test_a_file_a_folder_or_escaped_newlines_work(tmp_path: Path, certs, form: str, system_bundle: Path) -> None:
    if form == "file":
        (tmp_path / "ca.pem").write_text(certs[0])
        value = str(tmp_path / "ca.pem")
    elif form == "folder":
        (tmp_path / "cas").mkdir()
        (tmp_path / "cas" / "a.crt").write_text(certs[0])
        (tmp_path / "cas" / "b.pem").write_text(certs[1])
        value = str(tmp_path / "cas")
    else:
        value = (certs[0] + certs[1]).replace("\n", "\\n")
    env = {"HOME": str(tmp_path / "home"), "CUSTOM_CA_CERTS": value}
    bundle = install_custom_ca(env, system_bundle=system_bundle)
    assert bundle.count == (1 if form == "file" else 2)


@pytest.mark.parametrize("value, message", [
    ("/nowhere/ca.pem", "neither PEM text nor an existing file"),
    ("-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----\n", "certificate #1 is not valid base64"),
    ("-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n", "not an X.509 certificate"),
    ("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n", "holds no PEM certificate"),
])
def test_bad_values_name_the_variable_and_the_fix(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_certificates(value)
    assert "CUSTOM_CA_CERTS" in str(info.value) and message in str(info.value)
    assert "set CUSTOM_CA_CERTS to the PEM text" in str(info.value)


def test_an_unwritable_home_falls_back_to_a_temp_folder(tmp_path: Path, certs, system_bundle: Path) -> None:
    home = tmp_path / "file-not-dir"
    home.write_text("")
    env = {"HOME": str(home), "CUSTOM_CA_CERTS": certs[0]}
    bundle = install_custom_ca(env, system_bundle=system_bundle)
    assert bundle.path.is_file() and not str(bundle.path).startswith(str(home))


def test_shell_exports_quote_the_paths(tmp_path: Path, certs, system_bundle: Path) -> None:
    env = {"PIPEYARD_CA_DIR": str(tmp_path / "a dir"), "CUSTOM_CA_CERTS": certs[0]}
    text = shell_exports(install_custom_ca(env, system_bundle=system_bundle, export=False))
    assert f"export SSL_CERT_FILE='{tmp_path}/a dir/ca-bundle.pem'" in text
    assert "SSL_CERT_FILE" not in env


@pytest.mark.skipif(shutil.which("keytool") is None, reason="no JDK on this machine (make setup installs one)")
def test_the_java_truststore_holds_the_jdk_roots_and_the_custom_ones(tmp_path: Path, certs, system_bundle) -> None:
    env = {"HOME": str(tmp_path), "CUSTOM_CA_CERTS": certs[0]}
    bundle = install_custom_ca(env, system_bundle=system_bundle)
    trust = java_truststore(bundle)
    listing = subprocess.run(["keytool", "-list", "-keystore", str(trust.path), "-storepass", "changeit"],
                             capture_output=True, text=True).stdout
    assert "pipeyard-custom-1" in listing
    assert listing.count("trustedCertEntry") > 10
    assert trust.options == (f"-Djavax.net.ssl.trustStore={trust.path}", "-Djavax.net.ssl.trustStorePassword=changeit")
    assert java_truststore(bundle).path == trust.path
