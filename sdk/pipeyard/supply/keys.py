"""The platform team's signing key and the public key that checks it.

The private key is a PEM ECDSA P-256 key: plain PKCS#8 (`openssl genpkey -algorithm EC -pkeyopt
ec_paramgen_curve:P-256`), or the encrypted key `cosign generate-key-pair` writes, unlocked with
COSIGN_PASSWORD as cosign does. It comes from --key FILE, else PIPEYARD_SIGNING_KEY (the PEM
itself, or its base64 for a masked single-line GitLab variable) or PIPEYARD_SIGNING_KEY_FILE.

cosign's encrypted key (sigstore/cosign pkg/cosign/keys.go, marshalKeyPair) is the PKCS#8 DER
sealed by go-securesystemslib's `encrypted` package: a JSON document
{"kdf": {"name": "scrypt", "params": {"N", "r", "p"}, "salt"}, "cipher": {"name": "nacl/secretbox",
"nonce"}, "ciphertext"}, every byte string base64, the key derived by scrypt to 32 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeyard_kit import secrets
from pipeyard_kit.errors import ConfigError, UsageError

KEY_ENV = "PIPEYARD_SIGNING_KEY"
PASSWORD_ENV = "COSIGN_PASSWORD"
COSIGN_PEM_TYPES = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
KEY_FIX = (f"pass --key FILE, or set {KEY_ENV} (the PEM, or its base64) or {KEY_ENV}_FILE to an ECDSA "
           "P-256 private key (PKCS#8 PEM, or cosign's encrypted cosign.key with COSIGN_PASSWORD)")


@dataclass(frozen=True)
class SigningKey:
    private: ec.EllipticCurvePrivateKey
    origin: str  # "--key FILE" or the variable's name: never the key

    def sign(self, data: bytes) -> bytes:
        """An ASN.1 DER ECDSA signature over sha256(data), what cosign writes and checks."""
        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))

    @property
    def public(self) -> ec.EllipticCurvePublicKey:
        return self.private.public_key()

    def public_pem(self) -> bytes:
        return public_pem(self.public)


def public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: ec.EllipticCurvePublicKey) -> str:
    """sha256 of the DER public key, shortened: names a key in messages without showing it."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()[:16]


def verify(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# -- loading ---------------------------------------------------------------------------------------
def load_signing_key(path: Path | None = None, env: Mapping[str, str] | None = None) -> SigningKey:
    """--key FILE, else PIPEYARD_SIGNING_KEY / PIPEYARD_SIGNING_KEY_FILE; a clear error when none is set."""
    env = os.environ if env is None else env
    if path is not None:
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"--key {path}: {exc.strerror}", fix="pass the path of the signing key") from None
        origin = f"--key {path}"
    else:
        try:
            value, where = secrets.read(KEY_ENV, env)
        except secrets.SecretFileError as exc:
            raise ConfigError(str(exc), fix=KEY_FIX) from None
        if not value:
            raise ConfigError(f"signing needs a key, and {KEY_ENV} is not set", fix=KEY_FIX)
        text, origin = _pem_or_base64(value), str(where)
    return SigningKey(_private_key(text, origin, env), origin)


def _pem_or_base64(value: str) -> bytes:
    if "-----BEGIN" in value:
        return value.encode()
    try:
        decoded = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return value.encode()
    return decoded if b"-----BEGIN" in decoded else value.encode()


def _pem_type(text: bytes) -> str:
    for line in text.decode("ascii", "replace").splitlines():
        line = line.strip()
        if line.startswith("-----BEGIN ") and line.endswith("-----"):
            return line[len("-----BEGIN "):-5]
    return ""


def _pem_body(text: bytes) -> bytes:
    lines = text.decode("ascii", "replace").strip().splitlines()
    body = [ln for ln in lines if ln and not ln.startswith("-----")]
    return base64.b64decode("".join(body))


def _password(env: Mapping[str, str], origin: str) -> bytes:
    # cosign accepts an empty password, so an empty COSIGN_PASSWORD that is set counts.
    if PASSWORD_ENV in env:
        return env[PASSWORD_ENV].encode()
    try:
        value, _ = secrets.read(PASSWORD_ENV, env)
    except secrets.SecretFileError as exc:
        raise ConfigError(str(exc), fix=f"point {PASSWORD_ENV}_FILE at a readable file") from None
    if value is None:
        raise ConfigError(f"{origin} is an encrypted key and {PASSWORD_ENV} is not set",
                          fix=f"set {PASSWORD_ENV} (or {PASSWORD_ENV}_FILE) to the key's password")
    return value.encode()


def _private_key(text: bytes, origin: str, env: Mapping[str, str]) -> ec.EllipticCurvePrivateKey:
    kind = _pem_type(text)
    try:
        if kind in COSIGN_PEM_TYPES:
            der = decrypt_cosign(_pem_body(text), _password(env, origin), origin)
            key = serialization.load_der_private_key(der, password=None)
        elif kind == "ENCRYPTED PRIVATE KEY":
            key = serialization.load_pem_private_key(text, password=_password(env, origin))
        elif kind in ("PRIVATE KEY", "EC PRIVATE KEY"):
            key = serialization.load_pem_private_key(text, password=None)
        else:
            raise ConfigError(f"{origin} holds no PEM private key"
                              + (f" (found a {kind} block)" if kind else ""), fix=KEY_FIX)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, ValueError) and "password" in str(exc).lower():
            raise ConfigError(f"{origin}: {PASSWORD_ENV} does not unlock the key",
                              fix=f"set {PASSWORD_ENV} to the password the key was made with") from None
        raise ConfigError(f"{origin} is not a readable private key ({type(exc).__name__})", fix=KEY_FIX) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        found = f"ECDSA {key.curve.name}" if isinstance(key, ec.EllipticCurvePrivateKey) else type(key).__name__
        raise ConfigError(f"{origin} is a {found} key, not ECDSA P-256",
                          fix="make one with `cosign generate-key-pair` or `openssl genpkey -algorithm EC "
                              "-pkeyopt ec_paramgen_curve:P-256`")
    return key


def decrypt_cosign(sealed: bytes, password: bytes, origin: str = "the key") -> bytes:
    """The PKCS#8 DER inside cosign's encrypted key (scrypt, then NaCl secretbox)."""
    import nacl.exceptions
    import nacl.secret

    try:
        doc = json.loads(sealed)
        kdf, cipher = doc["kdf"], doc["cipher"]
        if kdf.get("name") != "scrypt" or cipher.get("name") != "nacl/secretbox":
            raise ValueError("unsupported kdf or cipher")
        params = kdf["params"]
        n, r, p = int(params["N"]), int(params["r"]), int(params["p"])
        salt, nonce = base64.b64decode(kdf["salt"]), base64.b64decode(cipher["nonce"])
        ciphertext = base64.b64decode(doc["ciphertext"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{origin} is not a cosign encrypted key (unreadable scrypt/secretbox envelope)",
                          fix=KEY_FIX) from None
    secret = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=nacl.secret.SecretBox.KEY_SIZE,
                            maxmem=256 * r * n + (1 << 20))
    try:
        return nacl.secret.SecretBox(secret).decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError:
        raise ConfigError(f"{origin}: {PASSWORD_ENV} does not unlock the key",
                          fix=f"set {PASSWORD_ENV} to the password `cosign generate-key-pair` was given") from None


def load_public_key(path: Path, option: str = "--key") -> ec.EllipticCurvePublicKey:
    """A PEM public key (cosign.pub); a private key is accepted too, and its public half used."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror}", fix="pass the public key (cosign.pub)") from None
    kind = _pem_type(text)
    try:
        if kind == "PUBLIC KEY":
            key = serialization.load_pem_public_key(text)
        elif kind:
            return _private_key(text, f"{option} {path}", os.environ).public_key()
        else:
            raise ValueError("no PEM block")
    except ValueError:
        raise UsageError(f"{option} {path} holds no PEM public key",
                         fix="pass the cosign.pub that belongs to the signing key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise UsageError(f"{option} {path} is not an ECDSA P-256 public key",
                         fix="pass the cosign.pub that belongs to the signing key")
    return key
