"""Admin pages: the fee schedule and the approval thresholds (each change audited by
ledger/fees.py and ledger/rates.py)."""
from flask import flash, redirect, render_template, request, url_for

from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..ledger import fees as fee_service
from ..ledger import rates as rate_service
from ..ledger.catalogue import FEE_KINDS
from .blueprint import bp


@bp.get("/fees")
@require("manage")
def fees():
    return render_template("admin/fees.html", schedule=_schedule(), thresholds=_thresholds())


@bp.post("/fees")
@require("manage")
def set_fee():
    form = request.form
    form_view("admin/fees.html", schedule=_schedule(), thresholds=_thresholds())
    row = fee_service.set_fee(form.get("currency"), form.get("kind"), fixed=form.get("fixed") or "0",
                              bps=form.get("bps") or "0", minimum=form.get("minimum") or None,
                              maximum=form.get("maximum") or None, actor=operator_actor())
    flash(f"{row['kind'].capitalize()} fee in {row['currency']} saved.")
    return redirect(url_for("admin.fees"), 303)


def _schedule() -> list[dict]:
    """Every currency x kind that can carry a fee, with its row when it has one."""
    from ..money import MINOR_UNITS
    rows = {(f["currency"], f["kind"]): f for f in fee_service.list_fees()}
    return [rows.get((c, k)) or {"currency": c, "kind": k, "fixed": None, "bps": 0, "minimum": None,
                                 "maximum": None, "updated_by": None, "updated_at": None}
            for c in sorted(MINOR_UNITS) for k in FEE_KINDS]


@bp.post("/thresholds")
@require("manage")
def set_threshold():
    """Above the amount, a movement by an operator who may not approve waits for a second one;
    empty removes the threshold."""
    form_view("admin/fees.html", schedule=_schedule(), thresholds=_thresholds())
    currency = request.form.get("currency")
    row = rate_service.set_threshold(currency, request.form.get("amount") or None, actor=operator_actor())
    flash(f"Approval threshold in {row['currency']} saved: {row['amount']}." if row else
          f"Approval threshold in {currency} removed.")
    return redirect(url_for("admin.fees"), 303)


def _thresholds() -> list[dict]:
    """Every currency with its threshold, or none."""
    from ..money import MINOR_UNITS
    rows = {t["currency"]: t for t in rate_service.list_thresholds()}
    return [rows.get(c) or {"currency": c, "amount": None, "updated_by": None, "updated_at": None}
            for c in sorted(MINOR_UNITS)]
