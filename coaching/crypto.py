"""Encryption at rest for secrets we must keep (Google refresh tokens).

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`. The key comes from
`settings.FIELD_ENCRYPTION_KEY`: one or more comma-separated Fernet keys, the first encrypts and all
decrypt, so a key can be rotated without losing stored tokens. Unset, a key is derived from
SECRET_KEY — fine for the embedded mode, but then rotating SECRET_KEY makes stored tokens unreadable
(the coach simply reconnects), which is why production should set its own key.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionFailed(Exception):
    """The stored value was not written with any of the configured keys (or was tampered with)."""


def _derived_key() -> bytes:
    digest = hashlib.sha256(b"coaching.crypto.field-key:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    configured = [key.strip() for key in (settings.FIELD_ENCRYPTION_KEY or "").split(",") if key.strip()]
    keys = [key.encode() for key in configured] or [_derived_key()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_text(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise DecryptionFailed("Stored secret cannot be decrypted with the configured key.") from exc


def generate_key() -> str:
    """A fresh key for FIELD_ENCRYPTION_KEY (`python -c "from coaching.crypto import generate_key; print(generate_key())"`)."""
    return Fernet.generate_key().decode()
