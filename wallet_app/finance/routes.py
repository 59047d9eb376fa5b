"""Finance pages: CSV exports (streamed) and reconciliation."""
from datetime import date

from flask import Blueprint, Response, render_template, request, stream_with_context

from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..extensions import db
from . import exports
from .reconcile import reconcile as run_reconcile

bp = Blueprint("finance", __name__)


def csv_response(chunks, filename: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/exports")
@require("export")
def index():
    return render_template("finance/exports.html", today=date.today().isoformat(), error=None)


@bp.get("/exports/history.csv")
@require("export")
def history_csv():
    form_view("finance/exports.html", today=date.today().isoformat())
    f = exports.HistoryFilter.parse(request.args)
    exports.record_export(operator_actor(), "history", vars(f))
    return csv_response(exports.stream_history(f), f.filename())


@bp.get("/exports/balances.csv")
@require("export")
def balances_csv():
    form_view("finance/exports.html", today=date.today().isoformat())
    day = exports.parse_day(request.args.get("day"), "day") or date.today()
    exports.record_export(operator_actor(), "balances", {"day": day})
    return csv_response(exports.stream_balances(day), f"balances-as-of-{day}.csv")


@bp.get("/reconcile")
@require("reconcile")
def reconcile():
    return render_template("finance/reconcile.html", report=run_reconcile(db.session))
