"""Idempotency keys: their format and the fingerprint of a request. The engine claims keys,
replays first results and refuses a key reused for other parameters (engine.py)."""

import hashlib
import json

from ..errors import InvalidInput

MAX_KEY_LENGTH = 255


def check_key(key: object, field: str = "idempotency_key") -> str:
    """Keys are 1-255 printable ASCII characters (a UUID is the usual choice)."""
    if not isinstance(key, str) or not key:
        raise InvalidInput("An idempotency key is required.", field=field)
    if len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise InvalidInput(f"The idempotency key must be 1-{MAX_KEY_LENGTH} printable ASCII characters.", field=field)
    return key


def fingerprint(operation: str, **params) -> str:
    """sha256 of the operation and its canonical parameters."""
    canonical = json.dumps({"op": operation, **params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
