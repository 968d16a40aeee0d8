"""CUSTOM_CA_CERTS: the one reader of a company CA, for every runtime in every image.

The system bundle (/etc/ssl/certs) belongs to root, so the hook writes a bundle of
its own (system CAs + the custom ones) somewhere the job can write, and points the
tools at it. Call it first thing in a provider CLI, before any TLS connection:

    from pipeyard_kit.trust import install_custom_ca, java_truststore

    bundle = install_custom_ca()          # None when CUSTOM_CA_CERTS is unset or empty
    if bundle:
        subprocess_env.update(bundle.env)  # already exported into os.environ too
        trust = java_truststore(bundle)    # JVM tools only (mvn, the sonar scanner)
        java_opts += trust.options         # -Djavax.net.ssl.trustStore=... (password is the public "changeit")

CUSTOM_CA_CERTS holds PEM text (one or more certificates; a GitLab "File" variable
or literal "\\n" escapes work too) or the path of a PEM file or of a folder of
*.crt/*.pem files. Exported: SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and
NODE_EXTRA_CA_CERTS (OpenSSL, Python requests, curl; Node adds them to its own roots)
point at the full bundle: the system's, with the site's CA, plus the custom ones. Calling it
again is cheap and gives the same files. Shell wrappers can use
`eval "$(/opt/pipeyard/bin/python3 -m pipeyard_kit.trust)"`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from pipeyard_kit.errors import ConfigError, PipeyardError

# The tool wrappers import this module on the first call of every job, most often with no
# CUSTOM_CA_CERTS at all: typing, dataclasses and the base64 codecs would cost that call
# milliseconds, so they are left out or imported where a certificate is actually read.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl

VARIABLE = "CUSTOM_CA_CERTS"
DIR_ENV = "PIPEYARD_CA_DIR"
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
JAVA_CACERTS = Path("/etc/ssl/certs/java/cacerts")
JAVA_STOREPASS = "changeit"  # the JDK's well-known default, not a secret
PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.DOTALL)
FIX = f"set {VARIABLE} to the PEM text of the CA certificate(s), or to the path of a PEM file"


class CaBundle:
    """The written bundle (system + custom), the custom certificates alone, how many, and the
    variables that point tools at the bundle."""

    __slots__ = ("path", "custom_path", "count", "env")

    def __init__(self, path: Path, custom_path: Path, count: int, env: dict[str, str] | None = None):
        self.path, self.custom_path, self.count, self.env = path, custom_path, count, dict(env or {})

    def __repr__(self) -> str:
        return f"CaBundle(path={self.path!r}, count={self.count})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CaBundle) and all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # env is a dict


class JavaTrust:
    """A PKCS12 truststore with the custom certificates, and the JVM options that select it."""

    __slots__ = ("path", "options")

    def __init__(self, path: Path, options: tuple[str, ...]):
        self.path, self.options = path, options

    def __repr__(self) -> str:
        return f"JavaTrust(path={self.path!r})"


def _read_source(value: str) -> tuple[str, str]:
    """(PEM text, where it came from) for an inline value or a path."""
    if "-----BEGIN" in value:
        # A variable pasted with literal \n escapes instead of newlines.
        text = value.replace("\\n", "\n") if "\n" not in value.strip() else value
        return text, VARIABLE
    path = Path(value.strip()).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".crt", ".pem") and p.is_file())
        if not files:
            raise ConfigError(f"{VARIABLE}={path} is a folder with no *.crt or *.pem file", fix=FIX)
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files), str(path)
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8", errors="replace"), str(path)
        except OSError as exc:
            raise ConfigError(f"{VARIABLE}={path} cannot be read ({exc.strerror})", fix=FIX) from None
    shown = value.strip() if len(value) < 200 and "\n" not in value else f"{value.strip()[:40]}..."
    raise ConfigError(f"{VARIABLE}={shown!r} is neither PEM text nor an existing file", fix=FIX)


def parse_certificates(value: str) -> list[str]:
    """Normalised PEM blocks of CUSTOM_CA_CERTS; ConfigError naming the bad one otherwise."""
    text, where = _read_source(value)
    blocks = PEM_BLOCK.findall(text)
    if not blocks:
        raise ConfigError(f"{VARIABLE} ({where}) holds no PEM certificate (-----BEGIN CERTIFICATE-----)", fix=FIX)
    import base64
    import binascii

    pems = []
    for n, body in enumerate(blocks, 1):
        b64 = re.sub(r"\s+", "", body)
        try:
            der = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{VARIABLE} ({where}): certificate #{n} is not valid base64", fix=FIX) from None
        # Every X.509 certificate is a DER SEQUENCE (0x30).
        if not der or der[0] != 0x30:
            raise ConfigError(f"{VARIABLE} ({where}): certificate #{n} is not an X.509 certificate", fix=FIX)
        lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
        pems.append("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n")
    return pems


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def ca_dir(env: Mapping[str, str]) -> Path:
    """$PIPEYARD_CA_DIR, else ~/.cache/pipeyard/ca, else a per-user folder in /tmp."""
    import tempfile

    candidates = [env.get(DIR_ENV, "")]
    if env.get("HOME"):
        candidates.append(str(Path(env["HOME"]) / ".cache" / "pipeyard" / "ca"))
    candidates.append(str(Path(tempfile.gettempdir()) / f"pipeyard-ca-{os.getuid()}"))
    for c in candidates:
        if c and _writable(Path(c)):
            return Path(c)
    raise ConfigError(f"{VARIABLE}: no writable folder for the CA bundle (tried {', '.join(filter(None, candidates))})",
                      fix=f"set {DIR_ENV} to a writable folder")


def _write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o644)
    tmp.replace(path)


def install_custom_ca(env: MutableMapping[str, str] | None = None, *, export: bool = True,
                      system_bundle: Path = SYSTEM_BUNDLE) -> CaBundle | None:
    """Write the bundle for CUSTOM_CA_CERTS and export its variables into env (os.environ by default)."""
    target_env = os.environ if env is None else env
    value = target_env.get(VARIABLE, "")
    if not value.strip():
        return None
    pems = parse_certificates(value)
    directory = ca_dir(target_env)
    custom = "".join(pems)
    system = system_bundle.read_text(encoding="utf-8", errors="replace") if system_bundle.is_file() else ""
    custom_path = directory / "custom-ca.pem"
    bundle_path = directory / "ca-bundle.pem"
    _write_if_changed(custom_path, custom)
    _write_if_changed(bundle_path, system.rstrip("\n") + "\n" + custom if system else custom)
    exports = {
        "SSL_CERT_FILE": str(bundle_path),
        "REQUESTS_CA_BUNDLE": str(bundle_path),
        "CURL_CA_BUNDLE": str(bundle_path),
        # Node adds these to the roots built into it; the whole bundle keeps the site's CA, which an
        # official Node build does not find in the system store.
        "NODE_EXTRA_CA_CERTS": str(bundle_path),
    }
    if export:
        target_env.update(exports)
    return CaBundle(path=bundle_path, custom_path=custom_path, count=len(pems), env=exports)


def java_truststore(bundle: CaBundle, *, keytool: str = "keytool", cacerts: Path = JAVA_CACERTS) -> JavaTrust:
    """A copy of the JVM's cacerts plus the custom certificates, built once per set of certificates."""
    import hashlib
    import shutil

    custom = bundle.custom_path.read_text(encoding="utf-8")
    digest = hashlib.sha256(custom.encode()).hexdigest()[:16]
    store = bundle.path.parent / f"java-cacerts-{digest}.p12"
    options = (f"-Djavax.net.ssl.trustStore={store}", f"-Djavax.net.ssl.trustStorePassword={JAVA_STOREPASS}")
    if store.is_file():
        return JavaTrust(store, options)
    exe = shutil.which(keytool)
    if exe is None:
        raise ConfigError(f"{VARIABLE} is set but this image has no keytool to build a Java truststore",
                          fix="use an image with a JDK or JRE, or unset CUSTOM_CA_CERTS for this job")
    tmp = store.with_name(f".{store.name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    if cacerts.is_file():
        # Re-exported as PKCS12 so the JVM reads it whatever format Debian wrote.
        _keytool([exe, "-importkeystore", "-noprompt", "-srckeystore", str(cacerts), "-srcstorepass", JAVA_STOREPASS,
                  "-destkeystore", str(tmp), "-deststoretype", "PKCS12", "-deststorepass", JAVA_STOREPASS])
    for n, pem in enumerate(PEM_BLOCK.finditer(custom), 1):
        cert = bundle.path.parent / f".custom-{n}.pem"
        cert.write_text(pem.group(0) + "\n", encoding="utf-8")
        try:
            _keytool([exe, "-importcert", "-noprompt", "-alias", f"pipeyard-custom-{n}", "-file", str(cert),
                      "-keystore", str(tmp), "-storetype", "PKCS12", "-storepass", JAVA_STOREPASS])
        finally:
            cert.unlink(missing_ok=True)
    tmp.replace(store)
    return JavaTrust(store, options)


def _keytool(cmd: list[str]) -> None:
    import subprocess

    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        reason = (out.stdout + out.stderr).strip().splitlines()[-1:] or ["no output"]
        raise ConfigError(f"{VARIABLE}: keytool could not build the Java truststore ({reason[0]})", fix=FIX)


def custom_pem(value: str | None) -> str | None:
    """The certificates of CUSTOM_CA_CERTS as one PEM text, or None when it is unset."""
    if not value or not value.strip():
        return None
    return "".join(parse_certificates(value))


def ssl_context(pem: str | None) -> ssl.SSLContext:
    """A verifying context (smtplib, urllib) that trusts the custom CA besides the system's."""
    import ssl

    context = ssl.create_default_context()
    if pem:
        context.load_verify_locations(cadata=pem)
    return context


def bundle_file(value: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The system bundle plus CUSTOM_CA_CERTS as one file, for requests' verify= and git's
    GIT_SSL_CAINFO (both replace the default bundle rather than add to it); None when unset."""
    if not value or not value.strip():
        return None
    bundle = install_custom_ca({**(os.environ if env is None else env), VARIABLE: value}, export=False)
    return str(bundle.path) if bundle else None


def shell_exports(bundle: CaBundle | None) -> str:
    import shlex

    if bundle is None:
        return ""
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in bundle.env.items())


def main() -> int:
    """`python3 -m pipeyard_kit.trust`: the exports for shell wrappers; nothing when CUSTOM_CA_CERTS is
    unset, one `error:` line and exit 1 for a bad value."""
    try:
        sys.stdout.write(shell_exports(install_custom_ca(export=False)))
    except PipeyardError as exc:
        sys.stderr.write(f"error: {exc.render()}\n")
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
