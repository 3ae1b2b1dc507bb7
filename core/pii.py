"""Personal data at rest: AES-256-GCM per value, key id beside it, and a keyed blind index.

The one place personal data is encrypted. A column opts in with one line in its model:

    email: str = Field(sa_column=Column(EncryptedText("users.email"), nullable=False))
    shipping_address: dict = Field(sa_column=Column(EncryptedJSON("orders.shipping_address"), ...))

and a `text` column in its migration. Values are written as `v1.<key id>.<base64url(nonce|ciphertext)>`
with the active key (PII_ACTIVE_KEY) and read with whichever key of PII_KEYS their id names; the
column's name is the associated data, so a value copied into another column does not decrypt.
Equality lookups go through `blind_index` (HMAC-SHA256 with PII_INDEX_KEY), never the value.
`rotate-keys` (domain/pii_rotation.py) finds every such column through these types.

Keys: PII_KEYS is `id:key[,id:key...]` with each key 32 bytes in base64; unset, one key is
generated into DATA_DIR (as JWT_SECRET is). The keyring is installed per process (`install`);
keys of several installs are kept, so values written with an earlier key stay readable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from core.settings import Settings, get_settings, local_secret

VERSION = "v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_NONCE_BYTES = 12


class PiiKeyError(ValueError):
    """The keys are misconfigured, or a value names a key we do not have."""


@dataclass(slots=True)
class Keyring:
    keys: dict[str, bytes]
    active: str
    index_key: bytes
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False)

    def cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            key = self.keys.get(key_id)
            if key is None:
                raise PiiKeyError(f"no PII key with id {key_id!r}")
            cipher = self._ciphers[key_id] = AESGCM(key)
        return cipher


def _decode_key(text: str) -> bytes:
    padded = text.strip() + "=" * (-len(text.strip()) % 4)
    try:
        key = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except ValueError as error:
        raise PiiKeyError("a PII key is not base64") from error
    if len(key) != 32:
        raise PiiKeyError("a PII key must be 32 bytes (AES-256), base64-encoded")
    return key


def parse_keys(text: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in text.replace("\n", ",").split(","))):
        key_id, sep, material = item.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise PiiKeyError("PII_KEYS is a list of id:key pairs (id: letters, digits, - and _)")
        keys[key_id] = _decode_key(material)
    if not keys:
        raise PiiKeyError("PII_KEYS holds no key")
    return keys


def keyring_from_settings(settings: Settings) -> Keyring:
    """The keys of PII_KEYS / PII_ACTIVE_KEY, or one generated into DATA_DIR when unset."""
    if settings.pii_keys:
        keys = parse_keys(settings.pii_keys)
        active = settings.pii_active_key or next(reversed(keys))
        if active not in keys:
            raise PiiKeyError("PII_ACTIVE_KEY names no key of PII_KEYS")
    else:
        secret = local_secret(settings, "pii_key")
        key = hashlib.sha256(b"pii-key\n" + secret.encode()).digest()
        active = "local" + hashlib.sha256(key).hexdigest()[:8]
        keys = {active: key}
    index_secret = settings.pii_index_key or local_secret(settings, "pii_index_key")
    index_key = hashlib.sha256(b"pii-index\n" + index_secret.encode()).digest()
    return Keyring(keys=keys, active=active, index_key=index_key)


_lock = threading.Lock()
_ring: Keyring | None = None


def install(ring: Keyring) -> Keyring:
    """Make `ring` this process's keyring; keys of earlier installs stay readable."""
    global _ring
    with _lock:
        if _ring is not None:
            merged = {**_ring.keys, **ring.keys}
            ring = Keyring(keys=merged, active=ring.active, index_key=ring.index_key)
        _ring = ring
        return ring


def install_from_settings(settings: Settings) -> Keyring:
    return install(keyring_from_settings(settings))


def keyring() -> Keyring:
    """The installed keyring (installed from the environment's settings on first use)."""
    return _ring if _ring is not None else install_from_settings(get_settings())


# ---------------------------------------------------------------- values


def encrypt(plain: bytes, context: str) -> str:
    ring = keyring()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = ring.cipher(ring.active).encrypt(nonce, plain, context.encode())
    return f"{VERSION}.{ring.active}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"


def key_id_of(stored: str) -> str:
    version, _, rest = stored.partition(".")
    key_id, _, _ = rest.partition(".")
    if version != VERSION or not key_id:
        raise PiiKeyError("not an encrypted value")
    return key_id


def decrypt(stored: str, context: str) -> bytes:
    key_id = key_id_of(stored)
    body = stored.split(".", 2)[2]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return keyring().cipher(key_id).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())


def blind_index(value: str) -> bytes:
    """The keyed lookup digest of a value (callers normalise it first, e.g. a lower-cased e-mail)."""
    return hmac.new(keyring().index_key, value.encode(), hashlib.sha256).digest()


def keyed_digest(raw: bytes) -> bytes:
    """The blind index of raw bytes: for lookup keys of any input, e.g. rate-limit counters keyed by
    an e-mail or a client address. Keyed, so a leaked table cannot be reversed by hashing guesses."""
    return hmac.new(keyring().index_key, raw, hashlib.sha256).digest()


def active_key_id() -> str:
    return keyring().active


class EncryptedText(TypeDecorator[str]):
    """A text value stored encrypted; `context` names the column (table.column)."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else encrypt(str(value).encode(), self.context)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else decrypt(value, self.context).decode()


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value (an address) stored encrypted; read back as the value it was."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return encrypt(json.dumps(value, separators=(",", ":"), sort_keys=True).encode(), self.context)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else json.loads(decrypt(value, self.context))


ENCRYPTED_TYPES = (EncryptedText, EncryptedJSON)
