"""Operator forms. Amounts stay text: the service parses them (Decimal, per currency)."""

import re
import uuid
from functools import cache

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..ledger.catalogue import Kind
from ..ledger.idempotency import MAX_KEY_LENGTH
from ..money import MINOR_UNITS

HOLD_CHOICES = [
    SelectChoice(value, label)
    for value, label in (
        ("", "the default"),
        ("3600", "1 hour"),
        ("86400", "1 day"),
        ("259200", "3 days"),
        ("2592000", "30 days"),
    )
]
KEY_MESSAGE = "This form's idempotency key was missing or malformed."


def _new_key() -> str:
    return str(uuid.uuid4())


class IdempotencyKeyField(HiddenField):
    """The form's idempotency key. A key that was refused (missing, malformed, or already used
    for another request) is never rendered back: the re-rendered form carries a fresh one, so
    the operator's next submit can succeed. A key that was not at fault is kept, so a retry of
    the same request still replays."""

    def _value(self):
        if self.errors and getattr(self, "_reissued", None) is None:
            self._reissued = _new_key()
        return self._reissued if self.errors else super()._value()


AMOUNT_KW = {"inputmode": "decimal", "autocomplete": "off"}
_GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")


def console_amount(text: str) -> str:
    """An amount as people type it in the console, as the ledger reads it: spaces around it
    go, "1,234.56" (the console's own format) loses its separators, "12." and ".5" gain their
    zero. Anything else is left for the ledger's parser to refuse in its own words; the API
    takes only the plain form."""
    text = text.strip()
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    if text.endswith(".") and text[:-1].isdigit():
        text = text[:-1]
    if text.startswith(".") and text[1:].isdigit():
        text = "0" + text
    return text


def _more_than_zero(form, field) -> None:
    if (field.data or "").startswith("-"):
        raise ValidationError("Amount must be more than zero.")


class AmountField(StringField):
    """A console amount: text (the service parses it to Decimal), read as people type it."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", AMOUNT_KW)
        super().__init__(label, [*(validators or []), _more_than_zero], **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, str):
            self.data = console_amount(self.data)

    def _value(self):
        """Shown again (a refusal, Cancel) as it was typed: "1,234.50", not "1234.50"."""
        return self.raw_data[0] if self.raw_data else super()._value()


class KeyedForm(FlaskForm):
    """A movement's form. The idempotency token is minted when the form is rendered, so a
    double click, a resubmit or an htmx retry replays the first result (docs/DESIGN.md,
    "Idempotency on the web")."""

    idempotency_key = IdempotencyKeyField(
        default=_new_key, validators=[DataRequired(KEY_MESSAGE), Length(max=MAX_KEY_LENGTH, message=KEY_MESSAGE)]
    )


@cache
def ask_form(kind: Kind) -> type[KeyedForm]:
    """The form of a kind asked on one wallet: a field per field of its catalogue entry."""
    fields = {}
    for f in kind.fields:
        if f.type == "choice":
            fields[f.name] = SelectField(
                f.label,
                choices=[SelectChoice(value, label) for value, label in (("", "Choose…"), *f.choices)],
                validators=[DataRequired(f"Choose the {f.label.lower()}.")],
                validate_choice=True,
            )
        else:
            validators = [DataRequired()] if f.required else [Optional()]
            if f.type == "text":
                validators.append(Length(max=f.max_length))
            field = AmountField if f.type == "amount" else StringField
            fields[f.name] = field(f.label, validators=validators)
    return type(f"{kind.name.title()}Form", (KeyedForm,), fields)


class MoneyForm(KeyedForm):
    amount = AmountField("Amount", validators=[DataRequired()])
    reference = StringField("Reference", validators=[Optional(), Length(max=500)])


class TransferForm(MoneyForm):
    """The recipient is found by an active search (`recipient`: name, email, reference or id)
    and picked from its results (`to_wallet_id`, a radio). Without JavaScript the typed text
    alone is enough when it names one wallet. Between currencies it is an exchange, at `rate`
    or the rates table's; `pending` only holds the amount, to be captured or voided before
    `expires_in` seconds pass."""

    recipient = StringField(
        "To wallet: name, email, reference or id",
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "off", "type": "search"},
    )
    to_wallet_id = StringField("To wallet", validators=[Optional()])
    rate = StringField(
        "Exchange rate (optional)",
        validators=[Optional(), Length(max=40)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    pending = BooleanField("Hold only (pending): capture or void it later")
    # Empty: the configured default (HOLD_DEFAULT_SECONDS); the service checks the maximum.
    expires_in = SelectField("Hold expires after", choices=HOLD_CHOICES, default="", validate_choice=True)

    @property
    def hold_seconds(self) -> int | None:
        """The hold's life for the service: None unless pending, or left at the default."""
        return int(self.expires_in.data) if self.pending.data and self.expires_in.data else None

    @property
    def hold_label(self) -> str:
        return next((c.label for c in HOLD_CHOICES if c.value == self.expires_in.data), "the default")


FORMS = {"transfer": TransferForm}  # the kinds with a form of their own; the others ask_form()'s


def form_for(kind: Kind) -> type[KeyedForm]:
    return FORMS.get(kind.name) or ask_form(kind)


# What each status stops, for the wallet page's banner and the status review step.
STATUS_CONSEQUENCES = {
    "frozen": "No money moves in or out: funds, transfers, withdrawals and reversals are refused.",
    "closed": "Nothing moves in or out, ever again: a closed wallet cannot reopen.",
    "active": "Money moves again.",
}


class LimitsForm(FlaskForm):
    """Empty removes a limit (the overdraft limit goes back to 0) or an alert line."""

    overdraft_limit = AmountField("Overdraft limit", validators=[Optional()])
    max_balance = AmountField("Maximum balance", validators=[Optional()])
    daily_outflow_limit = AmountField("Daily outflow limit (UTC day, fees included)", validators=[Optional()])
    alert_below = AmountField("Alert when available goes below", validators=[Optional()])
    alert_above = AmountField("Alert when available goes above", validators=[Optional()])


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class WalletForm(FlaskForm):
    owner_name = StringField("Owner name", validators=[DataRequired(), Length(max=200)])
    owner_email = StringField("Owner email", validators=[Optional(), Length(max=320)])
    external_ref = StringField("External reference", validators=[Optional(), Length(max=100)])
    currency = SelectField("Currency", choices=sorted(MINOR_UNITS, key=lambda c: (c != "USD", c)), default="USD")


class HistoryFilterForm(FlaskForm):
    """The history's filters, read from the query string (a GET: no CSRF token)."""

    since = StringField("From", validators=[Optional()], render_kw={"type": "date"})
    until = StringField("To", validators=[Optional()], render_kw={"type": "date"})
    kind = SelectField("Kind", choices=[], validate_choice=False)
    min_amount = StringField("Amount from", validators=[Optional()], render_kw={"inputmode": "decimal", "size": 8})
    max_amount = StringField("Amount to", validators=[Optional()], render_kw={"inputmode": "decimal", "size": 8})
    reference = StringField("Reference contains", validators=[Optional()])

    def __init__(self, *args, **kwargs):
        from ..ledger.catalogue import KINDS

        super().__init__(*args, **kwargs)
        self.kind.choices = [("", "All kinds")] + [(k.name, k.label) for k in KINDS.values()]


class StatementForm(FlaskForm):
    """A wallet's statement for a range of days, both included (a GET: its page, CSV and PDF)."""

    since = StringField("From", validators=[Optional()], render_kw={"type": "date"})
    until = StringField("To (included)", validators=[Optional()], render_kw={"type": "date"})


class NoteForm(FlaskForm):
    body = TextAreaField(
        "Add a note",
        validators=[DataRequired("Write the note first."), Length(max=2000)],
        render_kw={"rows": 3, "maxlength": 2000},
    )
