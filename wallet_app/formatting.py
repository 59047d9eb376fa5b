"""How the console shows values: amounts with separators and currency, one date format,
plurals. Registered as Jinja filters (`money`, `when`, `day`, `plural`) for every template;
templates/_macros.html has the "wallet name + id" link built on them."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import Flask

from .money import MINOR_UNITS


def money(value, currency: str | None = None, *, sign: bool = False, unit: bool = True) -> str:
    """`1234.5` + "USD" -> "1,234.50 USD". Amounts arrive as decimal strings (or Decimal);
    scaled to the currency's minor units. Empty stays empty. `sign`: a credit shows "+";
    `unit=False` leaves the code out (a column whose heading names the currency)."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if currency in MINOR_UNITS:
        number = number.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]))
    text = f"{number:{'+' if sign else ''},f}"
    return f"{text} {currency}" if currency and unit else text


def when(value) -> str:
    """The one date-time format of the console: "2026-11-25 13:40 UTC" (times are UTC)."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def day(value) -> str:
    """A calendar day: "2026-11-25"."""
    if not value:
        return ""
    if isinstance(value, str):
        return value[:10]
    return f"{value:%Y-%m-%d}" if isinstance(value, (date, datetime)) else str(value)


def plural(count, singular: str, plural_form: str | None = None) -> str:
    """`1|plural("wallet")` -> "1 wallet"; `1200|plural("entry", "entries")` -> "1,200 entries"."""
    count = int(count or 0)
    return f"{count:,} {singular if count == 1 else plural_form or singular + 's'}"


def actor_label(created_by: str | None) -> str:
    """Who made a transaction, in words: an operator's email, "API token NAME", or the CLI."""
    if not created_by:
        return ""
    if created_by.startswith("token:"):
        return f"API token {created_by[6:]}"
    return "command line" if created_by == "cli" else created_by


RESOLUTIONS = {
    "approve": "Approved",
    "reject": "Rejected",
    "capture": "Captured",
    "void": "Voided",
    "expire": "Expired",
}


def action_label(action: str) -> str:
    """An audit action in words: "transaction.approve" -> "Approved", "transfer.awaiting_approval"
    -> "Transfer awaiting approval"; others with their dots and underscores as spaces (so a
    narrow screen can wrap them)."""
    from .ledger.catalogue import label

    subject, _, verb = (action or "").partition(".")
    if subject == "transaction" and verb in RESOLUTIONS:
        return RESOLUTIONS[verb]
    if not verb:
        return label(subject)
    return f"{label(subject)} {verb.replace('_', ' ')}".replace(".", " ")


def init_app(app: Flask) -> None:
    app.add_template_filter(money)
    app.add_template_filter(when)
    app.add_template_filter(day)
    app.add_template_filter(plural)
    app.add_template_filter(actor_label)
    app.add_template_filter(action_label)
