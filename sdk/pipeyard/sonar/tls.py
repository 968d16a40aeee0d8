"""CUSTOM_CA_CERTS: a company CA for HTTPS and SMTP, given as PEM text or a path.

The CA is added to the default trust, never substituted for it, so public
servers keep working beside the internal ones.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

from ..errors import ConfigError

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
SETTING = "CUSTOM_CA_CERTS"


def custom_pem(value: str | None) -> str | None:
    """The PEM certificates of CUSTOM_CA_CERTS, read from the file when it is a path."""
    if not value:
        return None
    text = value
    if "-----BEGIN" not in value:
        path = Path(value.strip())
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{SETTING}={value.strip()} is neither PEM text nor a readable file ({exc.strerror})",
                              fix=f"put the PEM certificates themselves in {SETTING}, or a path to them") from None
    certs = _PEM.findall(text)
    if not certs:
        raise ConfigError(f"{SETTING} holds no PEM certificate",
                          fix="paste the CA certificate including its -----BEGIN CERTIFICATE----- line")
    return "\n".join(certs) + "\n"


def _default_bundle() -> str | None:
    try:
        import certifi  # requests' own trust store, present wherever requests is
        return certifi.where()
    except ImportError:  # pragma: no cover - requests depends on certifi
        paths = ssl.get_default_verify_paths()
        return paths.cafile or paths.openssl_cafile


def bundle_file(pem: str | None, folder: Path | None = None) -> str | None:
    """A CA bundle file (default trust + custom) for requests' verify=, or None for the default."""
    if not pem:
        return None
    base = _default_bundle()
    existing = Path(base).read_text(encoding="utf-8") if base and Path(base).is_file() else ""
    fd, name = tempfile.mkstemp(prefix="pipeyard-ca-", suffix=".pem", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(existing.rstrip("\n") + "\n" + pem)
    return name


def ssl_context(pem: str | None) -> ssl.SSLContext:
    """A verifying context that also trusts the custom CA."""
    context = ssl.create_default_context()
    if pem:
        context.load_verify_locations(cadata=pem)
    return context


TRUSTSTORE_PASSWORD = "changeit"  # protects nothing secret: the store holds public certificates only


def java_truststore(pem: str | None, folder: Path) -> Path | None:
    """A PKCS12 truststore for the scanner engine's JVM, built with keytool if there is one."""
    if not pem:
        return None
    keytool = shutil.which("keytool")
    if not keytool:
        return None
    store = folder / "pipeyard-truststore.p12"
    store.unlink(missing_ok=True)
    for i, cert in enumerate(_PEM.findall(pem)):
        cert_file = folder / f"pipeyard-ca-{i}.pem"
        cert_file.write_text(cert + "\n", encoding="utf-8")
        subprocess.run([keytool, "-importcert", "-noprompt", "-alias", f"pipeyard-ca-{i}", "-file", str(cert_file),
                        "-keystore", str(store), "-storetype", "PKCS12", "-storepass", TRUSTSTORE_PASSWORD],
                       check=True, capture_output=True)
        cert_file.unlink()
    return store
