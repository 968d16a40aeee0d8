"""CUSTOM_CA_CERTS for the tool wrappers, through the images' one CA hook (pipeyard_kit.trust).

The hook writes a user-writable bundle and names the variables that point tools at
it (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS...); the wrappers export them on every call.
A relative path is read from the project folder, like every other path setting, and
the files it names are listed so that editing them reconfigures. Shared with the npm
provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeyard_kit import trust as ca_certs
from pipeyard_kit.errors import ConfigError

NAME = ca_certs.VARIABLE


def _as_path(value: str, base: Path) -> Path | None:
    if "-----BEGIN" in value:
        return None
    path = Path(value.strip()).expanduser()
    return path if path.is_absolute() else base / path


def load(value: str | None, base: Path, env: Mapping[str, str], problems: list[str]) -> ca_certs.CaBundle | None:
    """The bundle for these certificates; a problem is appended (not raised) so every setting is checked first."""
    if not value or not value.strip():
        return None
    path = _as_path(value, base)
    try:
        return ca_certs.install_custom_ca({**env, NAME: str(path) if path else value}, export=False)
    except ConfigError as exc:
        problems.append(exc.render())
        return None


def sources(value: str | None, base: Path) -> list[Path]:
    """Files and folders whose changes must rebuild the trust material."""
    path = _as_path(value, base) if value else None
    if path is None or not path.exists():
        return []
    if path.is_dir():
        return [path, *sorted(p for p in path.iterdir() if p.suffix in (".crt", ".pem") and p.is_file())]
    return [path]


def pems(value: str | None, base: Path) -> tuple[str, ...]:
    """The certificates, for Python's own TLS checks; none when they don't parse."""
    if not value:
        return ()
    path = _as_path(value, base)
    try:
        return tuple(ca_certs.parse_certificates(str(path) if path else value))
    except ConfigError:
        return ()


def java_options(bundle: ca_certs.CaBundle) -> str:
    """-Djavax.net.ssl.trustStore=... for MAVEN_OPTS: the JVM ignores the system bundle."""
    return " ".join(ca_certs.java_truststore(bundle).options)
