"""Operator pages: dashboard, wallets, wallet detail with fund and transfer, transactions."""

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from ..auth.roles import can, operator_actor, require
from ..error_pages import form_view
from ..ledger import operations, queries
from ..ledger.catalogue import KINDS, PAGE_KINDS, Kind
from ..services import stats
from ..views import Views
from . import pages
from .forms import (
    STATUS_CONSEQUENCES,
    HistoryFilterForm,
    LimitsForm,
    NoteForm,
    StatementForm,
    StatusForm,
    WalletForm,
    form_for,
)
from .htmx import focus_attribute, render, respond, wants_fragment

views = Views()
# A panel of the wallet page per kind the catalogue gives one (wallets/<id>/<kind>).
MOVE = f"/wallets/<id:wallet_id>/<any({', '.join(k.name for k in PAGE_KINDS)}):kind>"
views.app_template_global()(focus_attribute)  # a global: the form macros see it too


@views.app_context_processor
def permissions():
    return {"can": lambda permission: can(current_user, permission)}


@views.get("/")
@require("read")
def index():
    data = stats.dashboard()
    charts = {cur: stats.chart(points) for cur, points in data["daily"].items()}
    return render("wallets/dashboard.html", "wallets/dashboard.html", data=data, charts=charts)


@views.get("/wallets")
@require("read")
def wallets():
    args = request.args
    page = queries.list_wallets(
        args.get("q"),
        currency=args.get("currency") or None,
        status=args.get("status") or None,
        cursor=args.get("cursor"),
    )
    fragment = "wallets/_rows.html" if args.get("cursor") else "wallets/_results.html"
    return render("wallets/index.html", fragment, page=page, form=WalletForm(formdata=None))


@views.post("/wallets")
@require("move_money")
def create_wallet():
    form = WalletForm()
    # The form alone for htmx; posted without JavaScript, the wallets page with it filled in.
    template, context = (
        ("wallets/_create_form.html", {})
        if wants_fragment()
        else ("wallets/index.html", {"page": queries.list_wallets()})
    )
    if not form.validate_on_submit():
        return respond(template, 422, form=form, **context)
    form_view(template, errors_in=form, **context)
    wallet = operations.create_wallet(
        form.owner_name.data,
        form.currency.data,
        actor=operator_actor(),
        owner_email=form.owner_email.data,
        external_ref=form.external_ref.data,
    )
    target = url_for("wallets.wallet", wallet_id=wallet["id"])
    flash(f"Wallet created for {wallet['owner_name']} ({wallet['currency']}), #{wallet['id']}.")
    if request.htmx:  # a full navigation to the new wallet, not a page inside the form
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


@views.get("/wallets/<id:wallet_id>")
@require("read")
def wallet(wallet_id):
    return render("wallets/detail.html", "wallets/detail.html", **_detail(wallet_id))


def _detail(wallet_id: int, args=None) -> dict:
    """Everything the wallet page shows (one service call) and its forms."""
    data = pages.wallet_page(wallet_id, args)
    wallet = data["wallet"]
    filters = HistoryFilterForm(formdata=args or None, meta={"csrf": False})
    if data["history_error"] is not None:
        _attach(filters, data["history_error"])
    chart = stats.chart([(None, v) for v in data["chart"]], signed=True)
    return {
        **data,
        "chart": chart,
        "filters": filters,
        # formdata=None: a fresh form, with a NEW idempotency token, never the posted one
        "forms": {k.name: form_for(k)(formdata=None) for k in PAGE_KINDS},
        "limits_form": LimitsForm(formdata=None, data={k: wallet[k] for k in operations.LIMITS + operations.ALERTS}),
        "status_form": StatusForm(formdata=None),
        "consequences": STATUS_CONSEQUENCES,
        "note_form": NoteForm(formdata=None),
        "statement_form": StatementForm(formdata=None, meta={"csrf": False}),
    }


def _attach(form, error) -> None:
    """A refusal the service returned (not raised): its message next to its field."""
    field = getattr(form, error.field or "", None) or form.until
    field.errors = [*field.errors, error.message]


def _step_template() -> str:
    return "wallets/_panel.html" if wants_fragment() else "wallets/detail.html"


def _step(wallet_id: int, kind: str, step: str, **extra) -> tuple[str, dict]:
    """Where `kind`'s panel shows `step` ("form", "confirm" or "receipt"): the panel alone for
    htmx, else the wallet page with the panel in its place, so a form posted without
    JavaScript gets a whole page back. The step's first control takes the focus."""
    context = {"kind": kind, "step": step, "focus": True, **extra}
    if _step_template() == "wallets/detail.html":
        return "wallets/detail.html", {**_detail(wallet_id), "active": kind, **context}
    if step == "receipt":  # the balance and history change too: out-of-band swaps
        return "wallets/_panel.html", {**_detail(wallet_id), "oob": True, **context}
    return "wallets/_panel.html", {"wallet": queries.get_wallet(wallet_id), **context}


def _kind(name: str) -> Kind:
    """The kind a panel's URL names, if the operator's role may run it: the one place the
    console checks a kind's permission (the catalogue's)."""
    kind = KINDS[name]
    if not can(current_user, kind.permission):
        abort(403)
    return kind


@views.get(MOVE)
@require("read")
def move_form(wallet_id, kind):
    """A fresh form, as Cancel on a review step asks for it."""
    form = form_for(_kind(kind))(formdata=None)
    template, context = _step(wallet_id, kind, "form")
    return respond(template, form=form, **context)


@views.post(MOVE + "/edit")
@require("read")
def edit(wallet_id, kind):
    """Cancel (or Escape) on a review: the form again with what was typed, and the same
    idempotency token, so a movement confirmed already is still answered once."""
    form = form_for(_kind(kind))()  # as typed, not validated (CSRFProtect checked the post)
    template, context = _step(wallet_id, kind, "form")
    return _review_kept(respond(template, form=form, **context, **_choices(kind, form, wallet_id)))


@views.get("/wallets/<id:wallet_id>/history")
@require("read")
def history(wallet_id):
    """The history filtered (kind, amounts, reference, days); a filter at fault is a 422 with
    its message next to it. A cursor asks for the next rows only."""
    if request.args.get("cursor") and wants_fragment():
        data = pages.wallet_history_page(wallet_id, request.args, cursor=request.args.get("cursor"))
        return respond("wallets/_history_rows.html", **data, filters=None)
    if wants_fragment():
        data = pages.wallet_history_page(wallet_id, request.args)
        filters = HistoryFilterForm(formdata=request.args, meta={"csrf": False})
        if data["history_error"] is not None:
            _attach(filters, data["history_error"])
        response = respond("wallets/_history.html", 422 if data["history_error"] else 200, **data, filters=filters)
        # A good filter goes in the address bar (a reload or a bookmark keeps it, Back undoes
        # it); a refused one does not, so Back never lands on a refusal.
        response.headers["HX-Push-Url"] = "false" if data["history_error"] else request.full_path
        return response
    context = _detail(wallet_id, request.args)
    return respond("wallets/detail.html", 422 if context["history_error"] else 200, **context)


@views.post(MOVE + "/confirm")
@require("read")
def confirm(wallet_id, kind):
    """Step one: the engine checks the request (a dry run) and shows the wallets after."""
    form = form_for(_kind(kind))()
    template, context = _step(wallet_id, kind, "form")
    context |= _choices(kind, form, wallet_id)
    if not form.validate_on_submit():
        return respond(template, 422, form=form, **context)
    form_view(template, errors_in=form, **context)
    actor = operator_actor()
    if kind == "transfer":
        to = _recipient(form, wallet_id)
        preview = operations.preview(kind, wallet_id, to, form.amount.data, actor=actor, rate=form.rate.data)
    else:
        preview = operations.preview_ask(kind, wallet_id, form.data, actor=actor)
    response = respond(template, form=form, **context | {"step": "confirm", "preview": preview})
    return _review_kept(response)


def _review_kept(response):
    """A review answers a post; with `no-store` Back from its receipt would find nothing to
    show (Chromium: ERR_CACHE_MISS). Kept privately instead, Back shows the review again, and
    confirming it once more replays the first result (the same idempotency token)."""
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@views.post(MOVE)
@require("read")
def move(wallet_id, kind):
    """Step two: move the money; a retry with the same token replays the first result."""
    form_class = form_for(_kind(kind))
    form = form_class()
    if not form.validate_on_submit():
        template, context = _step(wallet_id, kind, "form")
        return respond(template, 422, form=form, **context, **_choices(kind, form, wallet_id))
    form_view(
        _step_template(),
        errors_in=form,
        later=lambda: _step(wallet_id, kind, "form")[1] | _choices(kind, form, wallet_id),
    )
    key, actor = form.idempotency_key.data, operator_actor()
    if kind == "transfer":
        result = operations.transfer(
            wallet_id,
            _recipient(form, wallet_id),
            form.amount.data,
            idempotency_key=key,
            actor=actor,
            reference=form.reference.data,
            rate=form.rate.data or None,
            pending=form.pending.data,
            expires_in=form.hold_seconds,
        )
    else:
        result = operations.ask(kind, wallet_id, form.data, idempotency_key=key, actor=actor)
    if not wants_fragment():  # post, redirect, get: Back and reload never post again
        replayed = {"replayed": 1} if result.replayed else {}
        target = url_for(
            ".receipt", wallet_id=wallet_id, kind=kind, transaction_id=result.transaction["id"], **replayed
        )
        return redirect(target, 303)
    return _receipt(wallet_id, kind, result.transaction, result.replayed)


@views.get(MOVE + "/receipts/<id:transaction_id>")
@require("read")
def receipt(wallet_id, kind, transaction_id):
    """A receipt's own address: where a post without JavaScript lands, so Back from it and a
    reload read a page rather than post again."""
    _kind(kind)
    tx = queries.get_transaction(transaction_id)
    if tx["kind"] != kind or wallet_id not in (tx["source_wallet_id"], tx["dest_wallet_id"]):
        abort(404)
    return _receipt(wallet_id, kind, tx, request.args.get("replayed") == "1")


def _receipt(wallet_id: int, kind: str, tx: dict, replayed: bool):
    names = queries.wallet_names(e["wallet_id"] for e in tx["entries"])
    template, context = _step(wallet_id, kind, "receipt", tx=tx, replayed=replayed, names=names)
    return respond(template, form=form_for(KINDS[kind])(formdata=None), **context)


def _choices(kind: str, form, wallet_id: int) -> dict:
    """A transfer form shown again keeps its recipient search: the wallets the typed text
    matches, the one picked before still checked (without JavaScript, the only list there is)."""
    if kind != "transfer" or not (form.recipient.data or form.to_wallet_id.data):
        return {}
    return {"choices": queries.recipient_choices(form.recipient.data, form.to_wallet_id.data, exclude=wallet_id)}


def _recipient(form, wallet_id: int):
    """The picked wallet (a radio of the active search), else the one wallet the typed text names."""
    if form.to_wallet_id.data:
        return form.to_wallet_id.data
    return queries.recipient(form.recipient.data, exclude=wallet_id)["id"]
