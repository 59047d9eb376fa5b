"""Finance's bank statements in the console: upload one (with its layout), read a
reconciliation's breaks on both sides, resolve a line by a link or an adjustment, download
the breaks."""

from flask import flash, redirect, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..errors import InvalidInput
from ..models.bank import DATE_FORMATS
from ..money import MINOR_UNITS
from ..streaming import csv_response
from ..views import Views
from ..wallets.forms import KeyedForm
from ..wallets.htmx import render, respond, wants_fragment
from . import bank, bank_csv, bank_resolve

views = Views()
CURRENCIES = sorted(MINOR_UNITS, key=lambda c: (c != "USD", c))
PAGE, DETAIL, BREAK = "finance/statements.html", "finance/statement.html", "finance/_break.html"


class UploadForm(FlaskForm):
    statement = FileField("Statement (CSV)", validators=[FileRequired()])
    currency = SelectField("Currency", choices=CURRENCIES, default="USD")
    layout = SelectField("Columns", choices=[], default="", validate_choice=False)
    tolerance = StringField("Amount tolerance", default="0", validators=[Length(max=20)])
    window_days = StringField("Date window (days)", default="2", validators=[Length(max=3)])
    id_column = StringField("Bank id column", validators=[Optional(), Length(max=100)])
    date_column = StringField("Date column", validators=[Optional(), Length(max=100)])
    amount_column = StringField("Amount column", validators=[Optional(), Length(max=100)])
    reference_column = StringField("Reference column", validators=[Optional(), Length(max=100)])
    description_column = StringField("Description column", validators=[Optional(), Length(max=100)])
    date_format = SelectField(
        "Dates written", choices=[SelectChoice(f if i else "", f) for i, f in enumerate(DATE_FORMATS)], default=""
    )
    save_layout = StringField("Save these columns as", validators=[Optional(), Length(max=100)])


class LinkForm(FlaskForm):
    transaction_ids = StringField("Transaction ids", validators=[DataRequired(), Length(max=2000)])


class AdjustForm(FlaskForm):
    """The key last: a refusal naming no field of the form shows at its first one, the wallet."""

    wallet_id = StringField("Customer wallet id", validators=[DataRequired(), Length(max=20)])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=400)])
    idempotency_key = KeyedForm.idempotency_key


def _upload_form(formdata=None) -> UploadForm:
    form = UploadForm() if formdata else UploadForm(formdata=None)
    default = SelectChoice("", "id, date, amount, reference, description")
    form.layout.choices = [default] + [SelectChoice(n, n) for n in bank_csv.layouts()]
    return form


def _list() -> dict:
    items, cursor = bank.recent(request.args.get("cursor"), 20)
    return {"reconciliations": items, "cursor": cursor}


@views.get("/statements")
@require("reconcile")
def statements():
    return respond(PAGE, form=_upload_form(), **_list())


@views.post("/statements")
@require("reconcile")
def upload_statement():
    """Import and match; the reconciliation's page follows (post, redirect, get)."""
    form = _upload_form(formdata=True)
    if not form.validate_on_submit():
        return respond(PAGE, 422, form=form, **_list())
    form_view(PAGE, errors_in=form, later=_list)
    try:
        text = form.statement.data.read().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The file is not UTF-8 text (save it as CSV, UTF-8).", field="statement") from None
    values = {f.name: f.data for f in form}
    answer = bank.import_statement(
        form.currency.data,
        text,
        actor=operator_actor(),
        layout=form.layout.data or bank_csv.layout_from(values),
        tolerance=form.tolerance.data,
        window_days=form.window_days.data,
        save_layout=form.save_layout.data or None,
    )
    flash(
        f"Statement imported: {answer['lines']} lines, {answer['matched']} matched, "
        f"{answer['duplicates']} already imported."
    )
    return redirect(url_for(".statement", reconciliation_id=answer["id"]), 303)


upload_statement.upload_limit = "STATEMENT_MAX_CONTENT_LENGTH"


BLANK = {"link_form": lambda: LinkForm(formdata=None), "adjust_form": lambda: AdjustForm(formdata=None)}


def _detail(reconciliation_id, **forms) -> dict:
    return {"rec": bank.summary(reconciliation_id), "forms": forms, **BLANK}


def _row(reconciliation_id, line_id, **context) -> dict:
    """What the row of one line needs: the reconciliation's id and currency, the line now."""
    currency = bank.get(reconciliation_id).currency
    line = bank.line_now(reconciliation_id, line_id)
    return {
        "rec": {"id": reconciliation_id, "currency": currency},
        "currency": currency,
        "line": line,
        **BLANK,
    } | context


@views.get("/statements/<id:reconciliation_id>")
@require("reconcile")
def statement(reconciliation_id):
    return respond(DETAIL, **_detail(reconciliation_id))


@views.get("/statements/<id:reconciliation_id>/breaks.csv")
@require("reconcile")
def breaks_csv(reconciliation_id):
    bank.get(reconciliation_id)  # 404 before streaming starts
    return csv_response(bank_resolve.breaks_csv(reconciliation_id), f"breaks-{reconciliation_id}.csv")


@views.post("/statements/<id:reconciliation_id>/lines/<id:line_id>/link")
@require("reconcile")
def link_line(reconciliation_id, line_id):
    form = LinkForm()
    return _resolve(reconciliation_id, line_id, "link", form, lambda: bank_resolve.link(
        reconciliation_id, line_id, form.transaction_ids.data, actor=operator_actor()
    ))  # fmt: skip


@views.post("/statements/<id:reconciliation_id>/lines/<id:line_id>/adjust")
@require("reconcile")
def adjust_line(reconciliation_id, line_id):
    form = AdjustForm()
    return _resolve(reconciliation_id, line_id, "adjust", form, lambda: bank_resolve.adjust(
        reconciliation_id, line_id, form.wallet_id.data, form.reason.data,
        idempotency_key=form.idempotency_key.data, actor=operator_actor(),
    ))  # fmt: skip


def _resolve(reconciliation_id, line_id, action: str, form, write):
    """The line's row again (htmx), or the page after a redirect; a refusal shows next to its
    field in the row (htmx) or on the whole page."""
    bank.line_now(reconciliation_id, line_id)  # one that does not exist: 404, not its page
    forms = {"line": line_id, action: form}
    if wants_fragment():
        form_view(BREAK, errors_in=form, later=lambda: _row(reconciliation_id, line_id, forms=forms))
    else:
        form_view(DETAIL, errors_in=form, later=lambda: _detail(reconciliation_id, **forms))
    if not form.validate_on_submit():
        raise InvalidInput(
            next(iter(e for errors in form.errors.values() for e in errors)), field=next(iter(form.errors))
        )
    done = write()
    message = (
        f"Line matched to {form.transaction_ids.data}." if action == "link"
        else f"Adjustment {done['adjustment']['id']} asked: it clears the line once a second person approves it."
    )  # fmt: skip
    if wants_fragment():
        return render(DETAIL, BREAK, **_row(reconciliation_id, line_id, forms={}, message=message))
    flash(message)
    return redirect(url_for(".statement", reconciliation_id=reconciliation_id), 303)
