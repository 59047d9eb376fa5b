"""Checks on plain input values shared by the services; each error names its field."""

import re
from datetime import date, datetime, timezone

from ..errors import InvalidInput

MAX_ID = 2**63 - 1
# Days people filter by; a day past 9998 would overflow the "next midnight" arithmetic.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def wallet_id(value: object, field: str) -> int:
    """A positive bigint given as an int or a string of digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput("Enter a valid wallet id (a positive whole number).", field=field)
    return value


def text(value: object, field: str, max_length: int, *, required: bool = False) -> str | None:
    """Trimmed single-line text without control characters; None when empty and optional."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput("This field is required.", field=field)
        return None
    if not isinstance(value, str):
        raise InvalidInput("Must be text.", field=field)
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(f"At most {max_length} characters.", field=field)
    if any(not ch.isprintable() for ch in value):
        raise InvalidInput("Control characters are not allowed.", field=field)
    return value


def email(value: object, field: str = "owner_email", *, required: bool = False) -> str | None:
    value = text(value, field, 320, required=required)
    if value is not None and not _EMAIL.fullmatch(value):
        raise InvalidInput("Enter a valid email address.", field=field)
    return value.lower() if value else value


def limit(value: object, default: int = 50, maximum: int = 200, field: str = "limit") -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 6:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidInput(f"Must be a whole number from 1 to {maximum}.", field=field)
    return value


def cursor(value: object, field: str = "cursor") -> int | None:
    """Cursors are opaque to clients; ours is the last id seen."""
    if value is None or value == "":
        return None
    try:
        return wallet_id(value, field)
    except InvalidInput:
        raise InvalidInput("Invalid cursor.", field=field) from None


def day(value: object, field: str) -> date | None:
    """A calendar day written as YYYY-MM-DD, or None when empty."""
    if value is None or value == "":
        return None
    try:
        parsed = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput("Use a date like 2026-11-24.", field=field) from None
    if not FIRST_DAY <= parsed <= LAST_DAY:
        raise InvalidInput(f"Use a date from {FIRST_DAY} to {LAST_DAY}.", field=field)
    return parsed


def moment(value: object, field: str, *, required: bool = False) -> datetime | None:
    """An ISO 8601 moment (`2026-11-30T23:59:59Z`); without an offset it is UTC, and a date
    alone is its midnight UTC (the start of that day). None when empty and optional."""
    if value is None or value == "":
        if required:
            raise InvalidInput("This field is required.", field=field)
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise InvalidInput("Use an ISO 8601 moment like 2026-11-30T23:59:59Z, or a date.", field=field) from None
    if not FIRST_DAY <= parsed.date() <= LAST_DAY:
        raise InvalidInput(f"Use a moment from {FIRST_DAY} to {LAST_DAY}.", field=field)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
