"""Operator pages for admins: a wallet's limits, and its status with a reason (a review step
says what changes; closing needs a zero balance; a closed wallet never reopens)."""

from flask import flash, redirect, url_for

from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..ledger import operations
from ..views import Views
from .forms import LimitsForm, StatusForm
from .htmx import render
from .routes import _detail

views = Views()

PAGE = "wallets/detail.html"


def _page(wallet_id: int, panel: str, form, status: int = 200):
    """The wallet page with the admin's panel (`panel`, filled with `form`) in place. These
    forms post as whole pages (htmx boosts them), so a refusal re-renders the page too."""
    return render(PAGE, panel, status, **_context(wallet_id, panel, form))


def _context(wallet_id: int, panel: str, form) -> dict:
    return {**_detail(wallet_id), "manage_panel": panel, "manage_form": form}


@views.post("/wallets/<id:wallet_id>/limits")
@require("manage")
def set_limits(wallet_id):
    form = LimitsForm()
    panel = "wallets/_limits_form.html"
    if not form.validate_on_submit():
        return _page(wallet_id, panel, form, 422)
    form_view(PAGE, errors_in=form, later=lambda: _context(wallet_id, panel, form))
    operations.set_limits(
        wallet_id,
        actor=operator_actor(),
        # an empty field removes its limit or line; 0 is a line (or limit) of zero
        **{name: _amount(getattr(form, name).data) for name in operations.LIMITS + operations.ALERTS},
    )
    flash("Limits and alerts saved.")
    return redirect(url_for("wallets.wallet", wallet_id=wallet_id), 303)


def _amount(data):
    return None if data in (None, "") else data


@views.post("/wallets/<id:wallet_id>/status/confirm")
@require("manage")
def confirm_status(wallet_id):
    """Step one: what the change means, before it is made."""
    form = StatusForm()
    if not form.validate_on_submit():
        return _page(wallet_id, "wallets/_status_form.html", form, 422)
    return _page(wallet_id, "wallets/_status_confirm.html", form)


@views.post("/wallets/<id:wallet_id>/status")
@require("manage")
def set_status(wallet_id):
    form = StatusForm()
    panel = "wallets/_status_form.html"
    if not form.validate_on_submit():
        return _page(wallet_id, panel, form, 422)
    form_view(PAGE, errors_in=form, later=lambda: _context(wallet_id, panel, form))
    wallet = operations.set_status(wallet_id, form.status.data, actor=operator_actor(), reason=form.reason.data)
    flash(f"{wallet['owner_name']} #{wallet_id} is {wallet['status']} now.")
    return redirect(url_for("wallets.wallet", wallet_id=wallet_id), 303)
