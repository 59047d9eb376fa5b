"""Admin pages: the fee schedule, the approval thresholds and the ledger's policy settings
(each change audited by ledger/fees.py and ledger/rates.py)."""

from flask import flash, redirect, render_template, request, url_for

from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..ledger import fees as fee_service
from ..ledger import rates as rate_service
from ..ledger.catalogue import FEE_KINDS
from ..views import Views

views = Views()


@views.get("/fees")
@require("manage")
def fees():
    return render_template("admin/fees.html", **_page())


@views.post("/fees")
@require("manage")
def set_fee():
    form = request.form
    form_view("admin/fees.html", later=_page)
    row = fee_service.set_fee(
        form.get("currency"),
        form.get("kind"),
        fixed=form.get("fixed") or "0",
        bps=form.get("bps") or "0",
        minimum=form.get("minimum") or None,
        maximum=form.get("maximum") or None,
        actor=operator_actor(),
    )
    flash(f"{row['kind'].capitalize()} fee in {row['currency']} saved.")
    return redirect(url_for("admin.fees"), 303)


def _schedule() -> list[dict]:
    """Every currency x kind that can carry a fee, with its row when it has one."""
    from ..money import MINOR_UNITS

    rows = {(f["currency"], f["kind"]): f for f in fee_service.list_fees()}
    return [
        rows.get((c, k))
        or {
            "currency": c,
            "kind": k,
            "fixed": None,
            "bps": 0,
            "minimum": None,
            "maximum": None,
            "updated_by": None,
            "updated_at": None,
        }
        for c in sorted(MINOR_UNITS)
        for k in FEE_KINDS
    ]


def _page() -> dict:
    return {"schedule": _schedule(), "thresholds": _thresholds(), "policy": rate_service.policy()}


@views.post("/thresholds")
@require("manage")
def set_threshold():
    """Above the amount (a wallet's unapproved day), a movement waits for a second person,
    whoever made it; empty removes the currency's own threshold (the default applies)."""
    form_view("admin/fees.html", later=_page)
    currency = request.form.get("currency")
    row = rate_service.set_threshold(currency, request.form.get("amount") or None, actor=operator_actor())
    flash(
        f"Approval threshold in {row['currency']} saved: {row['amount']}."
        if row
        else f"Approval threshold in {currency} removed."
    )
    return redirect(url_for("admin.fees"), 303)


@views.post("/policy")
@require("manage")
def set_policy():
    """The default approval threshold (currencies without their own) and reconcile's fx
    position tolerance."""
    form_view("admin/fees.html", later=_page)
    row = rate_service.set_policy(
        actor=operator_actor(),
        default_approval_threshold=request.form.get("default_approval_threshold") or None,
        fx_position_tolerance_bps=request.form.get("fx_position_tolerance_bps") or None,
    )
    flash(
        f"Default approval threshold {row['default_approval_threshold']}; fx position tolerance "
        f"{row['fx_position_tolerance_bps']} bps."
    )
    return redirect(url_for("admin.fees"), 303)


def _thresholds() -> list[dict]:
    """Every currency with its threshold, or none."""
    from ..money import MINOR_UNITS

    rows = {t["currency"]: t for t in rate_service.list_thresholds()}
    return [
        rows.get(c) or {"currency": c, "amount": None, "updated_by": None, "updated_at": None}
        for c in sorted(MINOR_UNITS)
    ]
