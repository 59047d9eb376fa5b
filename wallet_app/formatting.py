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


# What each audited action is, said as a person would (the engine's movements are their
# kind's label, with what became of them).
ACTIONS = {
    "signin": "Signed in",
    "signin.failed": "Sign-in failed",
    "signin.throttled": "Sign-in refused: too many attempts",
    "signout": "Signed out",
    "operator.create": "Added an operator",
    "operator.update": "Changed an operator",
    "operator.password": "Changed their own password",
    "operator.password_reset": "Reset an operator's password",
    "token.create": "Issued an API token",
    "token.revoke": "Revoked an API token",
    "wallet.create": "Opened a wallet",
    "wallet.note": "Added a note to a wallet",
    "wallet.status": "Changed a wallet's status",
    "wallet.limits": "Changed a wallet's limits",
    "export": "Exported",
    "reconcile": "Ran reconcile",
    "fee.set": "Set a fee",
    "threshold.set": "Set an approval threshold",
    "rate.set": "Set an exchange rate",
    "policy.set": "Changed the ledger's policy",
}
STATES = {"pending": "held (pending)", "awaiting_approval": "asked, awaiting approval"}


def action_label(action: str) -> str:
    """An audit action in words: "signin.failed" -> "Sign-in failed", "transaction.approve" ->
    "Approved", "transfer.awaiting_approval" -> "Transfer asked, awaiting approval"."""
    from .ledger.catalogue import KINDS, label

    if action in ACTIONS:
        return ACTIONS[action]
    subject, _, verb = (action or "").partition(".")
    if subject == "transaction" and verb in RESOLUTIONS:
        return RESOLUTIONS[verb]
    if subject in KINDS:
        return f"{label(subject)} {STATES.get(verb, verb.replace('_', ' '))}".strip()
    return (action or "").replace(".", " ").replace("_", " ").capitalize()


def _words(key: str) -> str:
    return key.replace("_", " ")


NOISE = {
    "updated_by",
    "updated_at",
    "set_by",
    "set_at",
    "id",
}  # the row's own bookkeeping: the audit row says who and when


# Keys of audited rows that hold money: shown as every page shows money.
MONEY_KEYS = {"amount", "fixed", "minimum", "maximum", "overdraft_limit", "max_balance", "daily_outflow_limit"}


def _value(value, currency: str | None = None, key: str | None = None) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, dict):
        currency = value.get("currency", currency)
        return ", ".join(
            f"{_words(k)} {_value(v, currency, k)}" for k, v in value.items() if v is not None and k not in NOISE
        )
    if value is None or value == "":
        return "none"
    if key == "rate":
        return _rate(value)
    return money(value, currency) if key in MONEY_KEYS else str(value)


def _rate(value) -> str:
    """A rate as finance typed it: 0.9, not the column's 0.900000000000."""
    try:
        return f"{Decimal(str(value)).normalize():f}"
    except InvalidOperation:
        return str(value)


def details_label(details: dict | None) -> str:
    """An audit row's details as a sentence: a movement's amount, fee and reason; a change as
    what it was and what it is now. Never the raw JSON."""
    if not details:
        return ""
    d = dict(details)
    parts = []
    currency = d.pop("currency", None)
    for key, word in (("amount", ""), ("fee", "fee "), ("held", ""), ("released", "released ")):
        if d.get(key) not in (None, "") and (key == "amount" or str(d[key]).strip("0.")):
            amount = money(d[key], currency) if currency else d[key]
            parts.append(f"{word}{amount}{' held' if key == 'held' else ''}")
        d.pop(key, None)
    rate, received, unit = d.pop("rate", None), d.pop("dest_amount", None), d.pop("dest_currency", None)
    if rate:
        parts.append(f"at {_rate(rate)}" + (f", {money(received, unit)} received" if received else ""))
    d.pop("kind", None)  # the action already says it
    source, dest = d.pop("source_wallet_id", None), d.pop("dest_wallet_id", None)
    named = {source: d.pop("source_name", None), dest: d.pop("dest_name", None)}
    if source or dest:
        parts.append(" ".join(f"{w} {named[i] or 'wallet'} #{i}" for w, i in (("from", source), ("to", dest)) if i))
    if "before" in d or "after" in d:
        before, after = d.pop("before", None), d.pop("after", None)
        if before is None and isinstance(after, dict):
            parts.append(f"now {_value(after, currency)}")
        elif isinstance(after, dict) and isinstance(before, dict):
            unit = after.get("currency", currency)
            changed = [
                f"{_words(k)} {_value(before.get(k), unit, k)} → {_value(v, unit, k)}"
                for k, v in after.items()
                if before.get(k) != v
            ]
            parts.append("; ".join(changed) or "no change")
        else:
            parts.append(f"{_value(before, currency)} → {_value(after, currency)}")
    if d.get("reverses_transaction_id"):
        parts.append(f"reverses transaction {d.pop('reverses_transaction_id')}")
    if d.get("expires_at"):
        parts.append(f"until {when(d.pop('expires_at'))}")
    reason = d.pop("reason", None)
    parts.extend(
        f"{_words(k)} {_value(v, currency, k)}" for k, v in d.items() if v not in (None, "") and k not in NOISE
    )
    if reason:
        parts.append(f"reason: “{reason}”")
    return "; ".join(parts)


# What a refused field is called on the page, where its service name is not a word.
FIELD_LABELS = {"wallet_id": "Wallet", "since": "From", "until": "To", "bps": "Basis points", "q": "Search"}


def refusal(error) -> str:
    """A refusal shown away from its field as a sentence: the field's label before the message,
    unless the message names it already ("Wallet 9 does not exist."). Never a field's code."""
    message = error.message
    if not error.field:
        return message
    name = FIELD_LABELS.get(error.field, _words(error.field).capitalize())
    return message if message.lower().startswith(name.lower()) else f"{name}: {message}"


def init_app(app: Flask) -> None:
    app.add_template_filter(money)
    app.add_template_filter(when)
    app.add_template_filter(day)
    app.add_template_filter(plural)
    app.add_template_filter(actor_label)
    app.add_template_filter(action_label)
    app.add_template_filter(details_label)
    app.add_template_filter(refusal)
