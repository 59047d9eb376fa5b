"""Operator pages: dashboard, wallets, wallet detail with fund and transfer, transactions."""
from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.roles import can, operator_actor, require
from ..errors import NotFound, WalletError
from ..services import stats
from ..services.exports import parse_day
from ..services.wallets import WalletsService
from .forms import FundForm, TransferForm, WalletForm
from .htmx import render, wants_fragment

bp = Blueprint("web", __name__)


@bp.app_context_processor
def permissions():
    return {"can": lambda permission: can(current_user, permission)}


def _wallet_or_404(wallet_id: int) -> dict:
    try:
        return WalletsService().get_wallet(wallet_id)
    except NotFound:
        abort(404)


@bp.get("/")
@require("read")
def index():
    data = stats.dashboard()
    charts = {cur: stats.bars([v for _, v in points]) for cur, points in data["daily"].items()}
    return render("web/dashboard.html", "web/dashboard.html", data=data, charts=charts)


@bp.get("/wallets")
@require("read")
def wallets():
    args = request.args
    try:
        page = WalletsService().list_wallets(args.get("q"), currency=args.get("currency") or None,
                                             status=args.get("status") or None, cursor=args.get("cursor"))
    except WalletError as exc:
        flash(exc.message)
        page = WalletsService().list_wallets()
    fragment = "wallets/_rows.html" if args.get("cursor") else "wallets/_results.html"
    return render("wallets/index.html", fragment, page=page, form=WalletForm(formdata=None))


@bp.post("/wallets")
@require("move_money")
def create_wallet():
    form = WalletForm()
    if form.validate_on_submit():
        try:
            wallet = WalletsService().create_wallet(form.owner_name.data, form.currency.data, actor=operator_actor(),
                                                    owner_email=form.owner_email.data,
                                                    external_ref=form.external_ref.data)
            target = url_for("web.wallet", wallet_id=wallet["id"])
            if request.htmx:  # a full navigation to the new wallet, not a page inside the form
                return "", 204, {"HX-Redirect": target}
            return redirect(target, 303)
        except WalletError as exc:
            getattr(form, exc.field, form.owner_name).errors.append(exc.message)
    return render("wallets/index.html", "wallets/_create_form.html", 422,
                  page=WalletsService().list_wallets(), form=form)


@bp.get("/wallets/<int:wallet_id>")
@require("read")
def wallet(wallet_id):
    return render("wallets/detail.html", "wallets/detail.html", **_detail(wallet_id))


def _detail(wallet_id: int, **forms) -> dict:
    wallet = _wallet_or_404(wallet_id)
    return {"wallet": wallet, "history": WalletsService().history(wallet_id, limit=25),
            "chart": stats.bars(stats.balance_series(wallet_id)),
            # formdata=None: a fresh form, with a NEW idempotency token, never the posted one
            "fund_form": forms.get("fund") or FundForm(formdata=None),
            "transfer_form": forms.get("transfer") or TransferForm(formdata=None)}


@bp.get("/wallets/<int:wallet_id>/history")
@require("read")
def history(wallet_id):
    wallet = _wallet_or_404(wallet_id)
    try:  # a bad date or cursor in a hand-edited URL is the client's error, never a 500
        since, until = (parse_day(request.args.get(f), f) for f in ("since", "until"))
        page = WalletsService().history(wallet_id, cursor=request.args.get("cursor"), limit=25,
                                        since=_midnight(since), until=_midnight(until, days=1))
    except WalletError:
        abort(400)
    fragment = "wallets/_history_rows.html" if request.args.get("cursor") else "wallets/_history.html"
    # The whole page (a reload of a filtered URL) also needs the forms and chart.
    rest = {} if wants_fragment() else {k: v for k, v in _detail(wallet_id).items() if k not in ("wallet", "history")}
    return render("wallets/detail.html", fragment, wallet=wallet, history=page, **rest)


def _midnight(day: date | None, days: int = 0) -> datetime | None:
    return datetime.combine(day + timedelta(days=days), time(), timezone.utc) if day else None


@bp.post("/wallets/<int:wallet_id>/<any(fund, transfer):kind>/confirm")
@require("move_money")
def confirm(wallet_id, kind):
    """Step one: check the request and show both wallets and the balances after."""
    form = FundForm() if kind == "fund" else TransferForm()
    wallet = _wallet_or_404(wallet_id)
    if form.validate_on_submit():
        try:
            source, dest = (None, wallet_id) if kind == "fund" else (wallet_id, form.to_wallet_id.data)
            preview = WalletsService().preview(source, dest, form.amount.data)
            return render_template("wallets/_confirm.html", kind=kind, form=form, wallet=wallet,
                                   preview=preview)
        except WalletError as exc:
            _field(form, exc).errors.append(exc.message)
    return render_template(f"wallets/_{kind}_form.html", form=form, wallet=wallet), 422


@bp.post("/wallets/<int:wallet_id>/<any(fund, transfer):kind>")
@require("move_money")
def move(wallet_id, kind):
    """Step two: move the money; a retry with the same token replays the first result."""
    form = FundForm() if kind == "fund" else TransferForm()
    wallet = _wallet_or_404(wallet_id)
    if form.validate_on_submit():
        svc, key = WalletsService(), form.idempotency_key.data
        try:
            if kind == "fund":
                result = svc.fund(wallet_id, form.amount.data, idempotency_key=key, actor=operator_actor(),
                                  reference=form.reference.data)
            else:
                result = svc.transfer(wallet_id, form.to_wallet_id.data, form.amount.data, idempotency_key=key,
                                      actor=operator_actor(), reference=form.reference.data)
        except WalletError as exc:
            _field(form, exc).errors.append(exc.message)
            return render_template(f"wallets/_{kind}_form.html", form=form, wallet=wallet), 422
        detail = _detail(wallet_id)
        return render_template("wallets/_receipt.html", kind=kind, tx=result.transaction,
                               replayed=result.replayed, **detail)
    return render_template(f"wallets/_{kind}_form.html", form=form, wallet=wallet), 422


def _field(form, exc: WalletError):
    names = {"wallet_id": "amount", "from_wallet_id": "amount", "to_wallet_id": "to_wallet_id"}
    name = names.get(exc.field, exc.field)
    return getattr(form, name, None) or form.amount


@bp.post("/wallets/<int:wallet_id>/status")
@require("manage")
def set_status(wallet_id):
    status = request.form.get("status", "")
    try:
        WalletsService().set_status(wallet_id, status, actor=operator_actor())
    except WalletError as exc:
        flash(exc.message)
    return redirect(url_for("web.wallet", wallet_id=wallet_id), 303)


@bp.get("/transactions/<int:transaction_id>")
@require("read")
def transaction(transaction_id):
    try:
        tx = WalletsService().get_transaction(transaction_id)
    except NotFound:
        abort(404)
    return render("transactions/detail.html", "transactions/detail.html", tx=tx)
