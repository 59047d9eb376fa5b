"""Operator pages: a transaction, and reversing it (amount, reason, review, receipt) from its page."""

import uuid

from flask import abort, redirect, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..ledger import operations, queries
from ..views import Views
from . import pages
from .forms import AmountField
from .htmx import render, wants_fragment

views = Views()

PAGE = "transactions/detail.html"


class ReverseForm(FlaskForm):
    """Empty amount: reverse what is left. The idempotency token is minted with the form."""

    amount = AmountField("Amount (empty: all that is left)", validators=[Optional()])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])
    refund_fee = BooleanField("Also return the fee")
    idempotency_key = HiddenField(default=lambda: str(uuid.uuid4()))


def _step(tx: dict, panel: str, form, status: int = 200, **context):
    """The reversal panel alone for htmx, else the transaction page with the panel in place."""
    page = {} if wants_fragment() else pages.transaction_page(tx["id"])
    return render(PAGE, panel, status, **(page | {"tx": tx, "form": form, "panel": panel} | context))


def _refusals_into(tx: dict, form) -> None:
    panel = "transactions/_reverse_form.html"
    fragment = wants_fragment()
    form_view(
        panel if fragment else PAGE,
        errors_in=form,
        later=lambda: {} if fragment else pages.transaction_page(tx["id"]),
        tx=tx,
        panel=panel,
    )


@views.get("/transactions/<id:transaction_id>")
@require("read")
def transaction(transaction_id):
    return render(PAGE, PAGE, **pages.transaction_page(transaction_id), form=ReverseForm(formdata=None))


@views.post("/transactions/<id:transaction_id>/reverse/confirm")
@require("move_money")
def confirm_reversal(transaction_id):
    """Step one: the engine checks the reversal (a dry run) and shows both wallets after."""
    tx, form = queries.get_transaction(transaction_id), ReverseForm()
    if not form.validate_on_submit():
        return _step(tx, "transactions/_reverse_form.html", form, 422)
    _refusals_into(tx, form)
    preview = operations.preview_reversal(
        transaction_id, amount=form.amount.data or None, refund_fee=form.refund_fee.data, actor=operator_actor()
    )
    response = _step(tx, "transactions/_reverse_confirm.html", form, preview=preview)
    response.headers["Cache-Control"] = "private, no-cache"  # Back from the receipt: routes._review_kept
    return response


@views.post("/transactions/<id:transaction_id>/reverse/edit")
@require("move_money")
def edit_reversal(transaction_id):
    """Cancel (or Escape) on the review: the form again as typed, with the same token."""
    response = _step(queries.get_transaction(transaction_id), "transactions/_reverse_form.html", ReverseForm())
    response.headers["Cache-Control"] = "private, no-cache"  # Back from the receipt: routes._review_kept
    return response


@views.post("/transactions/<id:transaction_id>/reverse")
@require("move_money")
def reverse(transaction_id):
    """Step two: post the reversal; a retry with the same token replays the first result."""
    tx, form = queries.get_transaction(transaction_id), ReverseForm()
    if not form.validate_on_submit():
        return _step(tx, "transactions/_reverse_form.html", form, 422)
    _refusals_into(tx, form)
    result = operations.reverse(
        transaction_id,
        amount=form.amount.data or None,
        reason=form.reason.data,
        refund_fee=form.refund_fee.data,
        idempotency_key=form.idempotency_key.data,
        actor=operator_actor(),
    )
    if not wants_fragment():  # post, redirect, get: Back and reload never post again
        replayed = {"replayed": 1} if result.replayed else {}
        target = url_for(".reversal", transaction_id=transaction_id, reversal_id=result.transaction["id"], **replayed)
        return redirect(target, 303)
    return _receipt(transaction_id, result.transaction, result.replayed)


@views.get("/transactions/<id:transaction_id>/reversals/<id:reversal_id>")
@require("read")
def reversal(transaction_id, reversal_id):
    """A reversal receipt's own address: where a post without JavaScript lands."""
    found = queries.get_transaction(reversal_id)
    if found["reverses_transaction_id"] != transaction_id:
        abort(404)
    return _receipt(transaction_id, found, request.args.get("replayed") == "1")


def _receipt(transaction_id: int, reversal: dict, replayed: bool):
    return _step(
        queries.get_transaction(transaction_id),
        "transactions/_reverse_receipt.html",
        ReverseForm(formdata=None),
        reversal=reversal,
        replayed=replayed,
        names=queries.wallet_names(e["wallet_id"] for e in reversal["entries"]),
    )
