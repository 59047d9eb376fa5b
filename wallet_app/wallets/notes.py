"""The wallet page's record of who did what: notes (append-only), its activity in the audit
log, and its statement (its history as CSV for a range of days)."""

from flask import flash, redirect, request, url_for

from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..finance import exports
from ..services import audit_log, notes
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


@views.get("/wallets/<id:wallet_id>/statement.csv")
@require("read")
def statement(wallet_id):
    """Every role that sees the wallet may download its statement; each download is audited."""
    form = StatementForm(formdata=request.args, meta={"csrf": False})
    form_view(PAGE, errors_in=form, later=lambda: _detail(wallet_id), statement_form=form)
    f = exports.HistoryFilter.parse(
        {**request.args.to_dict(), "wallet_id": str(wallet_id), "kind": None, "currency": None}
    )
    exports.record_export(operator_actor(), "statement", vars(f))
    return csv_response(exports.stream_history(f), f.filename("statement"))
