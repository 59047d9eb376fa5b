"""Finding things: the header's search box (a wallet or a transaction) and the transfer
form's active search for its recipient."""

from flask import redirect, request, url_for

from ..auth.roles import require
from ..error_pages import form_view
from ..ledger import queries
from ..views import Views
from .htmx import respond, wants_fragment
from .routes import _detail

views = Views()


@views.get("/search")
@require("read")
def search():
    """One match goes straight there; several are listed; none says so."""
    q = request.args.get("q", "")
    form_view("search.html", status=422, found=None, q=q)
    found = queries.find(q)
    hits = [url_for("wallets.wallet", wallet_id=w["id"]) for w in found["wallets"]] + [
        url_for("wallets.transaction", transaction_id=t["id"]) for t in found["transactions"]
    ]
    if len(hits) == 1 and not found["more_wallets"]:
        return redirect(hits[0], 303)
    return respond("search.html", found=found, q=q)


@views.get("/wallets/<id:wallet_id>/recipients")
@require("move_money")
def recipients(wallet_id):
    """The transfer's recipient search: wallets matching the typed text, as radios to pick;
    asked for outside htmx, the wallet page."""
    if not wants_fragment():
        return respond("wallets/detail.html", **_detail(wallet_id))
    q = request.args.get("recipient", "")
    page = queries.list_wallets(q, limit=8) if q.strip() else None
    return respond("wallets/_recipients.html", page=page, source_id=wallet_id, chosen=None)
