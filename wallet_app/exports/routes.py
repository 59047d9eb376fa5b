"""Finance pages: CSV exports (streamed) and reconciliation."""
from datetime import date

from flask import Blueprint, Response, render_template, request, stream_with_context

from ..auth.roles import operator_actor, require
from ..errors import WalletError
from ..services import exports
from ..services.wallets import WalletsService

bp = Blueprint("exports", __name__)


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
    try:
        f = exports.HistoryFilter.parse(request.args)
    except WalletError as exc:
        return render_template("finance/exports.html", today=date.today().isoformat(), error=exc), 422
    exports.record_export(operator_actor(), "history", vars(f))
    return csv_response(exports.stream_history(f), f.filename())


@bp.get("/exports/balances.csv")
@require("export")
def balances_csv():
    try:
        day = exports.parse_day(request.args.get("day"), "day") or date.today()
    except WalletError as exc:
        return render_template("finance/exports.html", today=date.today().isoformat(), error=exc), 422
    exports.record_export(operator_actor(), "balances", {"day": day})
    return csv_response(exports.stream_balances(day), f"balances-as-of-{day}.csv")


@bp.get("/reconcile")
@require("reconcile")
def reconcile():
    return render_template("finance/reconcile.html", report=WalletsService().reconcile())
