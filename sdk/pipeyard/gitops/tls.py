"""CUSTOM_CA_CERTS for git and the GitLab API: the system bundle plus the company's certificates.

git's GIT_SSL_CAINFO and requests' verify both replace the default bundle rather
than adding to it, so the two are concatenated into one file.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from ..errors import ConfigError

_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def _system_bundle() -> str:
    candidates = [ssl.get_default_verify_paths().cafile, *_SYSTEM_BUNDLES]
    for path in candidates:
        if path and Path(path).is_file():
            return Path(path).read_text(encoding="utf-8", errors="replace")
    return ""


def ca_bundle(value: str | None, workdir: Path) -> str | None:
    """A bundle file for CUSTOM_CA_CERTS (PEM text or a path to PEM), or None when it is unset."""
    if not value:
        return None
    text = value
    if "-----BEGIN" not in value:
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"CUSTOM_CA_CERTS={value} is neither PEM text nor a readable file ({exc.strerror})",
                              fix="paste the PEM certificates into CUSTOM_CA_CERTS or point it at a file") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ConfigError("CUSTOM_CA_CERTS holds no PEM certificate",
                          fix="use the -----BEGIN CERTIFICATE----- text of the company CA")
    path = workdir / "ca-bundle.pem"
    path.write_text(_system_bundle().rstrip() + "\n" + text.strip() + "\n", encoding="utf-8")
    return str(path)
