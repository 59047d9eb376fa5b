"""The wallet page's record of who did what: notes (append-only), its activity in the audit
log, and its statement (balances, money in and out and movements for a range of days; CSV, PDF)."""

from datetime import datetime, time, timedelta, timezone

from flask import flash, redirect, request, url_for

from .. import statement_pdf as pdf_statement
from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..errors import InvalidInput
from ..finance import exports
from ..ledger import statements
from ..models.types import utcnow
from ..services import audit_log, notes, validate
from ..streaming import csv_response
from ..views import Views
from .forms import NoteForm, StatementForm
from .htmx import respond, wants_fragment
from .routes import _detail

views = Views()

PAGE = "wallets/detail.html"


@views.post("/wallets/<id:wallet_id>/notes")
@require("note")
def add_note(wallet_id):
    form = NoteForm()
    if not form.validate_on_submit():
        return respond(PAGE, 422, **(_detail(wallet_id) | {"note_form": form}))
    form_view(PAGE, errors_in=form, later=lambda: _detail(wallet_id), note_form=form)
    notes.add_note(wallet_id, form.body.data, actor=operator_actor())
    flash("Note added.")
    return redirect(url_for("wallets.wallet", wallet_id=wallet_id) + "#notes", 303)


@views.get("/wallets/<id:wallet_id>/notes")
@require("read")
def more_notes(wallet_id):
    """The next notes for htmx's "Load more"; otherwise the wallet page."""
    if not wants_fragment():
        return respond(PAGE, **_detail(wallet_id))
    items, cursor = notes.list_notes(wallet_id, cursor=request.args.get("cursor"))
    return respond("wallets/_note_items.html", notes=items, notes_cursor=cursor, wallet={"id": wallet_id})


@views.get("/wallets/<id:wallet_id>/activity")
@require("read")
def more_activity(wallet_id):
    """The next activity for htmx's "Load more"; otherwise the wallet page."""
    if not wants_fragment():
        return respond(PAGE, **_detail(wallet_id))
    items, cursor = audit_log.wallet_activity(wallet_id, cursor=request.args.get("cursor"))
    return respond("wallets/_activity_items.html", activity=items, activity_cursor=cursor, wallet={"id": wallet_id})


def _period(wallet_id) -> tuple[dict, statements.Period]:
    """The statement's days as the form gives them (From and To both included, UTC; empty: from
    the first of this month, to today), as the ledger's [from, to); a day at fault is named
    next to its field on the wallet page."""
    form = StatementForm(formdata=request.args, meta={"csrf": False})
    form_view(PAGE, errors_in=form, later=lambda: _detail(wallet_id), statement_form=form)
    today = utcnow().date()
    since = validate.day(request.args.get("since"), "since") or today.replace(day=1)
    until = validate.day(request.args.get("until"), "until") or today
    if until < since:
        raise InvalidInput("To is before From: the period ends before it starts.", field="until")
    start, end = (datetime.combine(d, time(), timezone.utc) for d in (since, until + timedelta(days=1)))
    return statements.wallet_period(wallet_id, start, end, ("since", "until"))


@views.get("/wallets/<id:wallet_id>/statement")
@require("read")
def statement(wallet_id):
    """The statement for the days chosen: balances, money in and out, every movement (a page at
    a time; "Load more" asks for the next rows alone), and its CSV and PDF."""
    wallet, period = _period(wallet_id)
    data = statements.statement(wallet_id, period.start, period.end, cursor=request.args.get("cursor"))
    if request.args.get("cursor") and wants_fragment():
        return respond("wallets/_statement_rows.html", statement=data, wallet=wallet)
    return respond(
        "wallets/statement.html", statement=data, wallet=wallet, period_label=pdf_statement.period_text(period)
    )


@views.get("/wallets/<id:wallet_id>/statement.csv")
@require("read")
def statement_csv(wallet_id):
    """Every role that sees the wallet may download its statement; each download is audited."""
    wallet, period = _period(wallet_id)
    exports.record_export(operator_actor(), "statement", {"wallet_id": wallet["id"], **vars(period)})
    return csv_response(
        exports.stream_statement(wallet, period), f"statement-wallet-{wallet['id']}-{period.label()}.csv"
    )


@views.get("/wallets/<id:wallet_id>/statement.pdf")
@require("read")
def statement_pdf(wallet_id):
    """The statement as a PDF the customer can be sent; audited as the CSV is."""
    wallet, period = _period(wallet_id)
    exports.record_export(operator_actor(), "statement_pdf", {"wallet_id": wallet["id"], **vars(period)})
    return pdf_statement.answer(wallet, period)
