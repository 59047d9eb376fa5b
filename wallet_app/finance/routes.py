"""Finance pages: CSV exports (streamed) and reconciliation."""

from datetime import date

from flask import flash, redirect, render_template, request, url_for

from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..ledger import queries, statements
from ..models.types import utcnow
from ..services.serialize import iso
from ..streaming import csv_response
from ..views import Views
from . import exports
from . import reconcile as reconciliation

views = Views()


@views.get("/exports")
@require("export")
def index():
    return render_template("finance/exports.html", today=date.today().isoformat(), error=None, choices=[])


@views.get("/exports/history.csv")
@require("export")
def history_csv():
    """One wallet's history or all; the wallet is named as people know it (owner, email,
    reference or id) and, when several match, picked from them on the page again."""
    text = request.args.get("wallet", "")
    form_view(
        "finance/exports.html",
        today=date.today().isoformat(),
        later=lambda: {"choices": queries.recipient_choices(text) if text.strip() else []},
    )
    args = request.args.to_dict()
    if text.strip() and not args.get("wallet_id"):  # a wallet picked from the list wins
        args["wallet_id"] = str(queries.recipient(text, field="wallet")["id"])
    f = exports.HistoryFilter.parse(args)
    exports.record_export(operator_actor(), "history", vars(f))
    return csv_response(exports.stream_history(f), f.filename())


@views.get("/exports/balances.csv")
@require("export")
def balances_csv():
    form_view("finance/exports.html", today=date.today().isoformat(), choices=[])
    day = exports.parse_day(request.args.get("day"), "day") or date.today()
    exports.record_export(operator_actor(), "balances", {"day": day})
    return csv_response(exports.stream_balances(day), f"balances-as-of-{day}.csv")


@views.get("/trial-balance")
@require("reconcile")
def trial_balance():
    """Every wallet's balance as of a moment (default: now), per currency, system wallets
    included: each currency sums to zero."""
    at = request.args.get("at") or iso(utcnow())
    form_view("finance/trial_balance.html", at=at, trial=None)
    return render_template("finance/trial_balance.html", at=at, trial=statements.trial_balance(at))


@views.get("/trial-balance.csv")
@require("export")
def trial_balance_csv():
    at = request.args.get("at") or iso(utcnow())
    form_view("finance/trial_balance.html", at=at, trial=None)
    moment = statements.moment(at, "at")
    exports.record_export(operator_actor(), "trial_balance", {"at": moment})  # first: it commits
    return csv_response(exports.stream_trial_balance(moment), f"trial-balance-{moment:%Y-%m-%dT%H%M%SZ}.csv")


@views.get("/reconcile")
@require("reconcile")
def reconcile():
    """The latest kept run in full (or the one asked for by `run`), and the past runs listed."""
    runs, cursor = reconciliation.runs(cursor=request.args.get("cursor"))
    return render_template("finance/reconcile.html", runs=runs, cursor=cursor)


@views.post("/reconcile")
@require("reconcile")
def run_reconcile():
    """Run every check now; the run is kept (a GET never writes)."""
    run = reconciliation.run_and_keep(operator_actor())
    flash(f"Reconcile run {run['id']}: " + ("every invariant holds." if run["ok"] else "some invariants FAIL."))
    return redirect(url_for("finance.reconcile"), 303)
