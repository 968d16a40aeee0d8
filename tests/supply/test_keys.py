"""The signing key: PKCS#8 PEM, cosign's encrypted key with COSIGN_PASSWORD, from a file or the variable."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import nacl.secret
import nacl.utils
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeyard.supply import keys
from pipeyard_kit.errors import ConfigError, UsageError


def cosign_key(private: ec.EllipticCurvePrivateKey, password: bytes, n: int = 1 << 12) -> bytes:
    """What cosign writes (go-securesystemslib `encrypted`: scrypt, then NaCl secretbox), made here."""
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    salt, nonce = os.urandom(32), nacl.utils.random(24)
    secret = hashlib.scrypt(password, salt=salt, n=n, r=8, p=1, dklen=32)
    sealed = nacl.secret.SecretBox(secret).encrypt(der, nonce).ciphertext
    doc = {"kdf": {"name": "scrypt", "params": {"N": n, "r": 8, "p": 1}, "salt": base64.b64encode(salt).decode()},
           "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
           "ciphertext": base64.b64encode(sealed).decode()}
    body = base64.encodebytes(json.dumps(doc).encode()).decode()
    return f"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{body}-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n".encode()


def test_a_pkcs8_key_from_a_file_signs_what_its_public_key_verifies(keypair: tuple[Path, Path]) -> None:
    key = keys.load_signing_key(keypair[0])
    public = keys.load_public_key(keypair[1])
    assert keys.verify(public, key.sign(b"payload"), b"payload")
    assert not keys.verify(public, key.sign(b"payload"), b"other")
    assert key.origin == f"--key {keypair[0]}"


def test_the_variable_holds_the_pem_its_base64_or_names_a_file(keypair: tuple[Path, Path]) -> None:
    pem = keypair[0].read_text()
    for env in ({"PIPEYARD_SIGNING_KEY": pem}, {"PIPEYARD_SIGNING_KEY": base64.b64encode(pem.encode()).decode()},
                {"PIPEYARD_SIGNING_KEY_FILE": str(keypair[0])}):
        key = keys.load_signing_key(env=env)
        assert key.public_pem() == keys.load_public_key(keypair[1]).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert pem not in key.origin


def test_cosign_encrypted_keys_open_with_cosign_password(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "cosign.key"
    path.write_bytes(cosign_key(private, b"s3cret"))
    key = keys.load_signing_key(path, env={"COSIGN_PASSWORD": "s3cret"})
    assert keys.verify(private.public_key(), key.sign(b"x"), b"x")
    with pytest.raises(ConfigError) as e:
        keys.load_signing_key(path, env={"COSIGN_PASSWORD": "wrong"})
    assert "COSIGN_PASSWORD does not unlock the key" in str(e.value) and "s3cret" not in str(e.value)
    with pytest.raises(ConfigError) as e:
        keys.load_signing_key(path, env={})
    assert "is an encrypted key and COSIGN_PASSWORD is not set" in str(e.value)


def test_missing_or_wrong_keys_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        keys.load_signing_key(env={})
    assert "PIPEYARD_SIGNING_KEY is not set" in str(e.value) and "--key FILE" in str(e.value)
    with pytest.raises(UsageError):
        keys.load_signing_key(tmp_path / "absent.pem")
    rsa = tmp_path / "rsa.pem"
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_mod

    rsa.write_bytes(rsa_mod.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(ConfigError) as e:
        keys.load_signing_key(rsa)
    assert "not ECDSA P-256" in str(e.value)
    p384 = tmp_path / "p384.pem"
    p384.write_bytes(ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(ConfigError) as e:
        keys.load_signing_key(p384)
    assert "ECDSA secp384r1 key, not ECDSA P-256" in str(e.value)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    with pytest.raises(ConfigError) as e:
        keys.load_signing_key(junk)
    assert "holds no PEM private key" in str(e.value)
