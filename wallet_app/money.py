"""Money: parse operator and client text into Decimal, and format it back, per currency."""

import re
from decimal import Decimal

from .errors import InvalidAmount, InvalidInput

# ISO 4217 minor units for the currencies we accept; unknown codes are rejected.
MINOR_UNITS: dict[str, int] = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KWD": 3, "BHD": 3}
MAX_INTEGER_DIGITS = 16
STORAGE_PLACES = 4  # NUMERIC(20,4)
_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def check_currency(code: object, field: str = "currency") -> str:
    """Return the currency code if we support it, else raise InvalidInput naming `field`."""
    if not isinstance(code, str) or code not in MINOR_UNITS:
        raise InvalidInput(f"Unsupported currency; use one of {', '.join(sorted(MINOR_UNITS))}.", field=field)
    return code


def parse_amount(
    text: object, currency: str | None = None, field: str = "amount", *, allow_zero: bool = False
) -> Decimal:
    """Parse a positive amount (or zero, with `allow_zero`: a limit or a fee part) written as
    a plain decimal string.

    Only digits with an optional point are accepted: no sign, exponent, spaces, grouping
    or floats (a JSON number arrives as float/int and is refused, so no binary rounding
    ever reaches money). Without `currency` only the storage scale is checked; call
    `check_minor_units` once the wallet's currency is known.
    """
    if currency is not None:
        check_currency(currency)
    if isinstance(text, Decimal):
        text = str(text)
    if not isinstance(text, str):
        raise InvalidAmount('Amount must be a decimal string such as "12.50".', field=field)
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise InvalidAmount('Amount must be a number such as "12.50".', field=field)
    whole, _, frac = text.partition(".")
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise InvalidAmount(f"Amount is too large (at most {MAX_INTEGER_DIGITS} digits).", field=field)
    value = Decimal(text)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidAmount("Amount must be greater than zero.", field=field)
    if len(frac.rstrip("0")) > STORAGE_PLACES:
        raise InvalidAmount("Amount has too many decimal places.", field=field)
    value = value.quantize(Decimal(1).scaleb(-STORAGE_PLACES)).normalize()
    if currency is not None:
        value = check_minor_units(value, currency, field)
    return value


def check_minor_units(value: Decimal, currency: str, field: str = "amount") -> Decimal:
    """Refuse amounts finer than the currency allows (no silent rounding); return it scaled."""
    places = MINOR_UNITS[currency]
    scaled = quantize(value, currency)
    if scaled != value:
        unit = "no decimal places" if places == 0 else f"at most {places} decimal places"
        raise InvalidAmount(f"{currency} amounts have {unit}.", field=field)
    return scaled


def quantize(value: Decimal, currency: str) -> Decimal:
    """Round-free scaling of an exact amount to the currency's minor units."""
    return value.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]))


def format_amount(value: Decimal, currency: str) -> str:
    """The wire and CSV form: a plain decimal string in the currency's minor units."""
    return f"{quantize(Decimal(value), currency):f}"


RATE_PLACES = 12  # NUMERIC(24,12)


def parse_rate(text: object, field: str = "rate") -> Decimal:
    """An exchange rate (destination units per source unit): a positive plain decimal string,
    at most 12 digits before and after the point. Never a float."""
    if isinstance(text, Decimal):
        text = str(text)
    if not isinstance(text, str) or not _PLAIN_DECIMAL.fullmatch(text):
        raise InvalidInput('A rate is a decimal string such as "0.9215".', field=field)
    whole, _, frac = text.partition(".")
    if len(whole.lstrip("0")) > 12 or len(frac.rstrip("0")) > RATE_PLACES:
        raise InvalidInput(f"A rate has at most 12 digits before the point and {RATE_PLACES} after.", field=field)
    value = Decimal(text)
    if value <= 0:
        raise InvalidInput("A rate is greater than zero.", field=field)
    return value
