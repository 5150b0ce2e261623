"""Keys derived from the server secret, and the one cipher used for data at rest.

HKDF gives each purpose its own key, so a key used for console cookies can never
open a stored address. AES-256-GCM authenticates what it encrypts; the purpose is
bound in as associated data.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


class DecryptionError(Exception):
    """A ciphertext was tampered with or sealed under another key."""


def derive_key(secret: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"helpline-v1", info=purpose.encode()
    ).derive(secret.encode())


class Sealer:
    """Encrypt and decrypt small values under one purpose key."""

    def __init__(self, key: bytes, purpose: str) -> None:
        self._aead = AESGCM(key)
        self._purpose = purpose.encode()

    @classmethod
    def from_secret(cls, secret: str, purpose: str) -> Sealer:
        return cls(derive_key(secret, purpose), purpose)

    def seal(self, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, self._purpose)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], self._purpose)
        except (InvalidTag, ValueError):
            raise DecryptionError("ciphertext could not be opened") from None


def keyed_hash(key: bytes, message: str) -> str:
    return hmac.digest(key, message.encode(), "sha256").hex()  # one-shot, in C


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
