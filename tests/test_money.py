"""Amount parsing and formatting: the gate every amount passes before it touches a balance."""

from decimal import Decimal

import pytest

from wallet_app.errors import InvalidAmount, InvalidInput
from wallet_app.money import format_amount, parse_amount

BAD = [
    ("0", "USD"),
    ("0.00", "USD"),
    ("-1", "USD"),
    ("1.001", "USD"),
    ("1.5", "JPY"),
    ("1.0001", "KWD"),
    ("NaN", "USD"),
    ("nan", "USD"),
    ("Infinity", "USD"),
    ("-Infinity", "USD"),
    ("1e3", "USD"),
    ("1E3", "USD"),
    ("1e400", "USD"),
    (" 12", "USD"),
    ("12 ", "USD"),
    ("12,50", "USD"),
    ("", "USD"),
    ("1" * 17, "USD"),
    ("+5", "USD"),
    ("12.", "USD"),
    (".5", "USD"),
    ("1_000", "USD"),
    ("٣", "USD"),
    (12.5, "USD"),
    (12, "USD"),
    (True, "USD"),
    (None, "USD"),
    (Decimal("NaN"), "USD"),
]


@pytest.mark.parametrize("text,currency", BAD)
def test_bad_amounts_are_rejected_with_invalid_amount(text, currency):
    with pytest.raises(InvalidAmount) as err:
        parse_amount(text, currency)
    assert err.value.code == "invalid_amount"
    assert err.value.field == "amount"


GOOD = [
    ("12.50", "USD", "12.50"),
    ("0.01", "USD", "0.01"),
    ("12", "USD", "12.00"),
    ("007.5", "EUR", "7.50"),
    ("100", "JPY", "100"),
    ("1.000", "JPY", "1"),
    ("0.001", "KWD", "0.001"),
    ("2.5", "BHD", "2.500"),
    ("9" * 16, "USD", "9" * 16 + ".00"),
    ("9" * 16 + ".99", "GBP", "9" * 16 + ".99"),
]


@pytest.mark.parametrize("text,currency,formatted", GOOD)
def test_good_amounts_parse_exactly_and_format_in_minor_units(text, currency, formatted):
    value = parse_amount(text, currency)
    assert isinstance(value, Decimal)
    assert format_amount(value, currency) == formatted


def test_unknown_currency_is_rejected():
    with pytest.raises(InvalidInput) as err:
        parse_amount("1", "XXX")
    assert err.value.field == "currency"


def test_float_never_becomes_money():
    # 0.1 + 0.2 as floats is 0.30000000000000004; as strings it stays exact.
    assert parse_amount("0.1", "USD") + parse_amount("0.2", "USD") == Decimal("0.30")
    with pytest.raises(InvalidAmount):
        parse_amount(0.1 + 0.2, "USD")
