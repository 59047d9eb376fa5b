"""Operator forms. Amounts stay text: the service parses them (Decimal, per currency)."""
import uuid

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..ledger.idempotency import MAX_KEY_LENGTH
from ..money import MINOR_UNITS

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


class MoneyForm(FlaskForm):
    """A fund, transfer or withdrawal. The idempotency token is minted when the form is rendered, so a
    double click, a resubmit or an htmx retry replays the first result (docs/DESIGN.md,
    "Idempotency on the web")."""

    amount = StringField("Amount", validators=[DataRequired()], render_kw={"inputmode": "decimal",
                                                                          "autocomplete": "off"})
    reference = StringField("Reference", validators=[Optional(), Length(max=500)])
    idempotency_key = IdempotencyKeyField(default=_new_key, validators=[
        DataRequired(KEY_MESSAGE), Length(max=MAX_KEY_LENGTH, message=KEY_MESSAGE)])


class FundForm(MoneyForm):
    pass


class WithdrawalForm(MoneyForm):
    pass


class TransferForm(MoneyForm):
    to_wallet_id = StringField("To wallet id", validators=[DataRequired()], render_kw={"inputmode": "numeric"})


# What each status stops, for the wallet page's banner and the status review step.
STATUS_CONSEQUENCES = {
    "frozen": "No money moves in or out: funds, transfers, withdrawals and reversals are refused.",
    "closed": "Nothing moves in or out, ever again: a closed wallet cannot reopen.",
    "active": "Money moves again."}


class LimitsForm(FlaskForm):
    """Empty removes a limit (the overdraft limit goes back to 0)."""

    overdraft_limit = StringField("Overdraft limit", validators=[Optional()], render_kw={"inputmode": "decimal"})
    max_balance = StringField("Maximum balance", validators=[Optional()], render_kw={"inputmode": "decimal"})
    daily_outflow_limit = StringField("Daily outflow limit (UTC day, fees included)", validators=[Optional()],
                                      render_kw={"inputmode": "decimal"})


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class WalletForm(FlaskForm):
    owner_name = StringField("Owner name", validators=[DataRequired(), Length(max=200)])
    owner_email = StringField("Owner email", validators=[Optional(), Length(max=320)])
    external_ref = StringField("External reference", validators=[Optional(), Length(max=100)])
    currency = SelectField("Currency", choices=sorted(MINOR_UNITS, key=lambda c: (c != "USD", c)), default="USD")
