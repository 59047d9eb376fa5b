"""Operator pages for holds and approvals: a wallet's holds list, and ending a hold from its
transaction page (capture with a review step, void) or an approval request (approve with a
review step, reject with a reason). The engine checks every rule; its refusal shows on the
transaction page next to the field at fault."""

from datetime import datetime, timezone

from flask import flash, g, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from ..auth.roles import can, operator_actor, require
from ..error_pages import form_view
from ..formatting import money
from ..ledger import batches, operations, queries
from ..ledger.idempotency import MAX_KEY_LENGTH
from ..views import Views
from .forms import KEY_MESSAGE, AmountField, IdempotencyKeyField, _new_key
from .htmx import render, respond, wants_fragment
from .pages import HOLD_STATES
from .routes import _detail

views = Views()

PAGE = "transactions/detail.html"
DONE = {"capture": "captured", "void": "voided", "approve": "approved", "reject": "rejected"}


class ResolveForm(FlaskForm):
    """Capture, void, approve or reject one hold. `back` says which page the operator came
    from (the wallet's holds list, the approvals page, or the transaction page itself)."""

    amount = AmountField("Amount to capture (empty: all that is held)", validators=[Optional()])
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])
    idempotency_key = IdempotencyKeyField(
        default=_new_key, validators=[DataRequired(KEY_MESSAGE), Length(max=MAX_KEY_LENGTH, message=KEY_MESSAGE)]
    )
    back = HiddenField(validators=[Optional(), AnyOf(["wallet", "approvals"])])


@views.app_template_global()
def resolve_form(back: str = "", **data) -> ResolveForm:
    """A fresh form (with a new idempotency key) for a hold's buttons on any page."""
    return ResolveForm(formdata=None, data={"back": back, **data})


@views.app_template_global()
def approvals_waiting() -> int:
    """The requests the signed-in operator may approve or reject: the navigation and the
    dashboard show the count to those who may decide them."""
    if not can(current_user, "approve"):
        return 0
    if "approvals_waiting" not in g:  # the navigation and the dashboard ask: one count per request
        g.approvals_waiting = queries.awaiting_count(f"user:{current_user.id}")
    return g.approvals_waiting


@views.app_template_filter("age")
def age(iso_time: str) -> str:
    """How long ago an ISO 8601 time was, roughly: "2 d 3 h", "3 h 5 min", "4 min"."""
    minutes = max(0, int((datetime.now(timezone.utc) - datetime.fromisoformat(iso_time)).total_seconds() // 60))
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    return f"{days} d {hours} h" if days else f"{hours} h {mins} min" if hours else f"{mins} min"


@views.get("/wallets/<id:wallet_id>/holds")
@require("read")
def holds(wallet_id):
    """The next page of one of the wallet's two lists of holds (`state`: open or resolved) for
    htmx's "Load more"; otherwise the wallet page, both lists from their start."""
    if not request.args.get("cursor") or not wants_fragment():
        return render("wallets/detail.html", "wallets/_holds.html", **_detail(wallet_id))
    state = request.args.get("state") if request.args.get("state") in HOLD_STATES else "open"
    page = queries.holds(
        wallet_id, cursor=request.args.get("cursor"), limit=10, is_open=state == "open", with_names=True
    )
    return respond("wallets/_holds_rows.html", wallet={"id": wallet_id}, rows=page, state=state)


def _page(tx: dict, step: str, form: ResolveForm, status: int = 200, action: str | None = None):
    """The transaction page with its hold panel at `step` ("actions" or "confirm") for `action`."""
    return render(PAGE, PAGE, status, **_context(tx, step, form, action))


def _context(tx: dict, step: str, form: ResolveForm, action: str | None) -> dict:
    from .transactions import ReverseForm

    return {
        "tx": tx,
        "form": ReverseForm(formdata=None),
        "hold_step": step,
        "hold_form": form,
        "hold_action": action,
        "names": queries.wallet_names([tx["source_wallet_id"], tx["dest_wallet_id"]]),
    }


def _review(transaction_id: int, action: str):
    """Step one of a capture or an approval: what will happen, before it does. The engine
    checks it in a dry run, so the review refuses what the write would."""
    tx, form = queries.get_transaction(transaction_id), ResolveForm()
    if not form.validate_on_submit():
        return _page(tx, "actions", form, 422, action)
    form_view(PAGE, errors_in=form, later=lambda: _context(tx, "actions", form, action))
    quote = operations.preview_resolution(
        action, transaction_id, amount=form.amount.data or None, actor=operator_actor()
    )
    return render(PAGE, PAGE, 200, **_context(tx, "confirm", form, action), quote=quote)


def _resolve(transaction_id: int, action: str):
    """Step two: the engine ends the hold; back to the page the operator came from."""
    tx, form = queries.get_transaction(transaction_id), ResolveForm()
    if not form.validate_on_submit():
        return _page(tx, "actions", form, 422, action)
    # A refusal: the transaction page, its message next to the field (the maker's own
    # approval, the engine's 403, shows as a refused form like any other: 422).
    form_view(PAGE, errors_in=form, later=lambda: _context(tx, "actions", form, action))
    key, actor = form.idempotency_key.data, operator_actor()
    if action == "capture":
        result = operations.capture(transaction_id, amount=form.amount.data or None, idempotency_key=key, actor=actor)
    elif action == "void":
        result = operations.void(transaction_id, idempotency_key=key, actor=actor)
    elif action == "approve":
        result = operations.approve(transaction_id, idempotency_key=key, actor=actor)
    else:
        result = operations.reject(transaction_id, reason=form.reason.data, idempotency_key=key, actor=actor)
    done = result.transaction
    outcome = (
        f"{money(done['amount'], done['currency'])} posted" if done["status"] == "posted" else "its hold is released"
    )
    flash(
        f"Transaction {done['id']} {DONE[action]}: {outcome}"
        + (" (already done: this is the first result)" if result.replayed else "")
        + "."
    )
    if form.back.data == "wallet" and tx["source_wallet_id"]:
        return redirect(url_for("wallets.wallet", wallet_id=tx["source_wallet_id"]), 303)
    if form.back.data == "approvals":
        return redirect(url_for("wallets.approvals"), 303)
    return redirect(url_for("wallets.transaction", transaction_id=transaction_id), 303)


@views.post("/transactions/<id:transaction_id>/capture/confirm")
@require("move_money")
def confirm_capture(transaction_id):
    return _review(transaction_id, "capture")


@views.post("/transactions/<id:transaction_id>/capture")
@require("move_money")
def capture(transaction_id):
    return _resolve(transaction_id, "capture")


@views.post("/transactions/<id:transaction_id>/void")
@require("move_money")
def void(transaction_id):
    return _resolve(transaction_id, "void")


@views.post("/transactions/<id:transaction_id>/approve/confirm")
@require("approve")
def confirm_approval(transaction_id):
    return _review(transaction_id, "approve")


@views.post("/transactions/<id:transaction_id>/approve")
@require("approve")
def approve(transaction_id):
    return _resolve(transaction_id, "approve")


@views.post("/transactions/<id:transaction_id>/reject")
@require("approve")
def reject(transaction_id):
    return _resolve(transaction_id, "reject")


@views.get("/approvals")
@require("read")
def approvals():
    """What waits for a second operator, oldest first; approvers act on rows not their own."""
    page = queries.awaiting_approval(cursor=request.args.get("cursor"))
    fragment = "wallets/_approval_rows.html" if request.args.get("cursor") else "wallets/approvals.html"
    waiting = [] if request.args.get("cursor") else batches.awaiting()
    return render("wallets/approvals.html", fragment, page=page, me=current_user.email, waiting_batches=waiting)
