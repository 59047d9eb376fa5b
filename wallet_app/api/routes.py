"""JSON API v1 (docs/DESIGN.md, "JSON API"): bearer tokens, problem+json errors, Idempotency-Key."""

import json
from datetime import datetime, timezone

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import RequestEntityTooLarge

from .. import statement_pdf, throttle
from ..errors import TokenNotLive
from ..events import feed, webhooks
from ..extensions import csrf
from ..finance import bank, bank_csv, bank_resolve, exports
from ..ledger import batches, fees, operations, queries, rates, statements
from ..ledger.catalogue import ASKED
from ..request_log import note_principal
from ..services import tokens, validate
from ..services.audit import Actor
from ..streaming import csv_response
from . import schemas
from .errors import TITLES, ApiError, problem, register
from .openapi import document

bp = Blueprint("api", __name__)
csrf.exempt(bp)  # bearer tokens, no cookies: CSRF does not apply
register(bp)


# Endpoints whose one write is the engine's statement, which checks the token is live itself
# (engine.POST_AS_TOKEN_SQL): they take the token from this process's cache when it is there,
# saving a round trip. A 201 then proves the token was live; any other answer is confirmed
# with the database first (confirm_cached_token), so a revoked token gets 401 at once.
CHECKED_BY_THE_WRITE = frozenset({"api.transfer", "api.ask"})
UNAUTHORIZED = (401, "unauthorized", "A valid bearer token is required.")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="wallet"'}


@bp.before_request
def authenticate():
    """Every endpoint but the OpenAPI document needs a live token with the right scope.
    Requests count against their token's limit; failed authentications against the client
    address's (so a flood of bogus or misspelt credentials is limited too)."""
    endpoint = request.endpoint
    if endpoint == "api.openapi":
        return
    secret = _secret()
    token = tokens.known(secret) if endpoint in CHECKED_BY_THE_WRITE else None
    g.token_unconfirmed = token is not None
    if token is None:
        token = tokens.authenticate(secret) if secret else None
    if token is None:
        _throttle(
            current_app.config["API_AUTH_FAILURE_LIMIT"],
            "api-auth",
            request.remote_addr or "",
            "Too many failed authentications from your address; slow down.",
        )
        raise ApiError(*UNAUTHORIZED, headers=CHALLENGE)
    _throttle(
        current_app.config["API_RATE_LIMIT"], "api", str(token.id), "Too many requests for this token; slow down."
    )
    g.token = token
    note_principal(f"token:{token.id}")
    needed = {"GET": "read", "HEAD": "read", "PATCH": "manage"}.get(request.method, "write")
    if request.blueprint == "api" and (request.url_rule and "/webhook-endpoints" in request.url_rule.rule):
        needed = "manage"  # where events go, and the secrets that sign them
    if endpoint == "api.upload_statement":
        needed = "manage"  # finance's books: what the bank says happened
    if needed not in token.scopes:
        raise ApiError(403, "forbidden", f"This token lacks the {needed} scope.")


@bp.after_request
def confirm_cached_token(response):
    """A cached token's 4xx (bad input, a refusal) is answered only if the token is live.
    (A 5xx says nothing but "try again".)"""
    if not g.get("token_unconfirmed") or response.status_code == 201 or response.status_code >= 500:
        return response
    try:
        live = tokens.authenticate(_secret()) is not None
    except DBAPIError:
        return problem(
            503,
            "Service unavailable",
            "The database is unavailable; try again in a moment.",
            "unavailable",
            headers={"Retry-After": "1"},
        )
    return response if live else problem(*_title(UNAUTHORIZED), headers=CHALLENGE)


@bp.errorhandler(TokenNotLive)
def token_not_live(exc: TokenNotLive):
    """The engine found the (cached) token revoked: nothing was written."""
    tokens.forget(g.token.hash)
    g.token_unconfirmed = False
    return problem(*_title(UNAUTHORIZED), headers=CHALLENGE)


def _title(refusal: tuple) -> tuple:
    status, code, detail = refusal
    return status, TITLES[status], detail, code


def _secret() -> str:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def _throttle(limit: str, scope: str, key: str, message: str) -> None:
    retry_after = throttle.hit(limit, scope, key)
    if retry_after is not None:
        raise ApiError(429, "rate_limited", message, headers={"Retry-After": str(retry_after)})


def _actor() -> Actor:
    token = g.token
    return Actor(
        scope=f"token:{token.id}",
        name=f"token:{token.name}",
        ip=request.remote_addr,
        owner=token.owner,
        token=token.hash,
        issuer=token.issuer,
    )


def _body(schema: dict, limit: str = "MAX_CONTENT_LENGTH") -> dict:
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        body = _json(current_app.config[limit])
    except RecursionError:  # nesting deeper than the parser goes, e.g. 50 KB of "["
        body = None
    if body is None:
        raise ApiError(400, "malformed_body", "The body is not valid JSON.")
    return schemas.check(body, schema)


def _json(limit: int):
    """The body parsed, or None if it is not JSON. With a Content-Length (every client but a
    chunked upload), read straight from the server's input: werkzeug's stream wrapper and
    Flask's JSON provider were ~8% of an API transfer's CPU (bench/PROFILE.md)."""
    length = request.content_length
    if length is None:
        request.max_content_length = limit
        return request.get_json(silent=True)
    if length > limit:
        raise RequestEntityTooLarge()
    try:
        return json.loads(request.environ["wsgi.input"].read(length))
    except ValueError:  # not JSON, or not UTF-8
        return None


def _idempotency_key() -> str:
    key = request.headers.get("Idempotency-Key")
    if not key:
        raise ApiError(
            400, "idempotency_key_required", "The Idempotency-Key header is required.", field="Idempotency-Key"
        )
    return key


def _moved(result, status: int = 201):
    """201 for a movement posted or held; 202 for one awaiting a second operator's approval."""
    # A replay answers what the first answer said (202 stays 202 once approved), with the
    # transaction as it is now. Serialised as jsonify does (compact, keys sorted), without
    # its per-call look-ups of the app's JSON settings.
    response = Response(
        json.dumps(result.transaction, separators=(",", ":"), sort_keys=True, default=current_app.json.default) + "\n",
        result.status or status,
        mimetype="application/json",
    )
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _timestamp(name: str) -> datetime | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "invalid_input", f"{name} must be an ISO 8601 timestamp.", field=name) from None
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


@bp.get("/wallets")
def list_wallets():
    page = queries.list_wallets(
        request.args.get("q"), cursor=request.args.get("cursor"), limit=request.args.get("limit")
    )
    return {"data": page.items, "next_cursor": page.next_cursor}


@bp.post("/wallets")
def create_wallet():
    body = _body(schemas.CREATE_WALLET)
    wallet = operations.create_wallet(
        body["owner_name"],
        body["currency"],
        actor=_actor(),
        owner_email=body.get("owner_email"),
        external_ref=body.get("external_ref"),
    )
    return wallet, 201


@bp.get("/wallets/<wallet_id>")
def get_wallet(wallet_id):
    return queries.get_wallet(wallet_id)


def ask(wallet_id, path):
    """A kind asked for on one wallet, at the catalogue's `api_path`: fund, withdrawals, ..."""
    kind = ASKED[path]
    body = _body(schemas.asked(kind))
    key = _idempotency_key()
    return _moved(operations.ask(kind.name, wallet_id, body, idempotency_key=key, actor=_actor()))


for _path in ASKED:  # one rule per path, as the OpenAPI document lists them
    bp.add_url_rule(f"/wallets/<wallet_id>/{_path}", view_func=ask, methods=["POST"], defaults={"path": _path})


@bp.post("/transfers")
def transfer():
    body = _body(schemas.TRANSFER)
    key = _idempotency_key()
    if "to" in body:  # a split: one payer, several payees
        alone = sorted(set(body) & {"to_wallet_id", "amount", "rate", "pending", "expires_in"})
        if alone:
            raise ApiError(422, "invalid_input", f"A split (to) takes no {alone[0]}.", field=alone[0])
        return _moved(
            operations.split(
                body["from_wallet_id"], body["to"], idempotency_key=key, actor=_actor(), reference=body.get("reference")
            )
        )
    for name in ("to_wallet_id", "amount"):
        if name not in body:
            raise ApiError(422, "invalid_input", f"{name} is required (or `to`, for a split).", field=name)
    return _moved(
        operations.transfer(
            body["from_wallet_id"],
            body["to_wallet_id"],
            body["amount"],
            idempotency_key=key,
            actor=_actor(),
            reference=body.get("reference"),
            rate=body.get("rate"),
            pending=body.get("pending", False),
            expires_in=body.get("expires_in"),
        )
    )


@bp.post("/transfers/<transaction_id>/capture")
def capture(transaction_id):
    body = _optional_body(schemas.CAPTURE)
    key = _idempotency_key()
    return _moved(
        operations.capture(transaction_id, amount=body.get("amount"), idempotency_key=key, actor=_actor()), 200
    )


@bp.post("/transfers/<transaction_id>/void")
def void(transaction_id):
    _optional_body(schemas.EMPTY)
    key = _idempotency_key()
    return _moved(operations.void(transaction_id, idempotency_key=key, actor=_actor()), 200)


@bp.post("/transactions/<transaction_id>/approve")
def approve(transaction_id):
    _optional_body(schemas.EMPTY)
    key = _idempotency_key()
    return _moved(operations.approve(transaction_id, idempotency_key=key, actor=_approver()), 200)


@bp.post("/transactions/<transaction_id>/reject")
def reject(transaction_id):
    body = _body(schemas.REJECT)
    key = _idempotency_key()
    return _moved(operations.reject(transaction_id, reason=body["reason"], idempotency_key=key, actor=_approver()), 200)


@bp.get("/approvals")
def approvals():
    page = queries.awaiting_approval(cursor=request.args.get("cursor"), limit=request.args.get("limit"))
    return {"data": page.items, "next_cursor": page.next_cursor}


@bp.get("/wallets/<wallet_id>/holds")
def holds(wallet_id):
    page = queries.holds(wallet_id, cursor=request.args.get("cursor"), limit=request.args.get("limit"))
    return {"data": page.items, "next_cursor": page.next_cursor}


@bp.post("/batches")
def post_batch():
    """Up to 1,000 movements in one request, one engine call and one commit."""
    body = _body(schemas.BATCH, "BATCH_MAX_CONTENT_LENGTH")
    key = _idempotency_key()
    return _batch(batches.post(body["items"], mode=body["mode"], idempotency_key=key, actor=_actor()))


@bp.get("/batches/<batch_id>")
def get_batch(batch_id):
    return batches.get_batch(batch_id)


@bp.post("/batches/<batch_id>/approve")
def approve_batch(batch_id):
    _optional_body(schemas.EMPTY)
    _idempotency_key()
    return _batch(batches.decide(batch_id, "approve", actor=_approver()))


@bp.post("/batches/<batch_id>/reject")
def reject_batch(batch_id):
    body = _body(schemas.REJECT)
    _idempotency_key()
    return _batch(batches.decide(batch_id, "reject", actor=_approver(), reason=body["reason"]))


def _batch(result):
    """A batch's answer: 201 posted (or partly, or all refused), 202 awaiting approval, 200 decided."""
    response = Response(
        json.dumps(result.batch, separators=(",", ":"), sort_keys=True, default=current_app.json.default) + "\n",
        result.status,
        mimetype="application/json",
    )
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/rates")
def list_rates():
    return {"data": rates.list_rates()}


def _approver() -> Actor:
    if "approve" not in g.token.scopes:
        raise ApiError(403, "forbidden", "This token lacks the approve scope.")
    return _actor()


def _optional_body(schema: dict) -> dict:
    """A body that may be left out (no Content-Type, nothing sent) or be a JSON object."""
    if not request.content_length and not request.is_json:
        return {}
    return _body(schema)


@bp.patch("/wallets/<wallet_id>")
def update_wallet(wallet_id):
    """Limits, alert lines and/or status (with its reason), each audited with before and after."""
    body = _body(schemas.PATCH_WALLET)
    limits = {k: body[k] for k in operations.LIMITS + operations.ALERTS if k in body}
    if not limits and "status" not in body:
        raise ApiError(422, "invalid_input", "Give a limit, an alert line or a status.", field="status")
    return operations.update_wallet(
        wallet_id, actor=_actor(), status=body.get("status"), reason=body.get("reason"), **limits
    )


@bp.post("/transactions/<transaction_id>/reversals")
def reverse(transaction_id):
    body = _body(schemas.REVERSAL)
    key = _idempotency_key()
    return _moved(
        operations.reverse(
            transaction_id,
            amount=body.get("amount"),
            reason=body["reason"],
            refund_fee=body.get("refund_fee", False),
            idempotency_key=key,
            actor=_actor(),
        )
    )


@bp.get("/fees")
def list_fees():
    return {"data": fees.list_fees()}


@bp.get("/transactions/<transaction_id>")
def get_transaction(transaction_id):
    return queries.get_transaction(transaction_id)


@bp.get("/wallets/<wallet_id>/history")
def history(wallet_id):
    page = queries.history(
        wallet_id,
        cursor=request.args.get("cursor"),
        limit=request.args.get("limit"),
        since=_timestamp("since"),
        until=_timestamp("until"),
    )
    return {"data": page.items, "next_cursor": page.next_cursor}


@bp.get("/wallets/<wallet_id>/history.csv")
def history_csv(wallet_id):
    """The console's history export, for one wallet, to read tokens."""
    queries.get_wallet(wallet_id)  # 404 / 422 before streaming starts
    f = exports.HistoryFilter.parse({**request.args.to_dict(), "wallet_id": wallet_id})
    exports.record_export(_actor(), "history", vars(f))
    return csv_response(exports.stream_history(f), f.filename())


@bp.get("/wallets/<wallet_id>/balance")
def balance_at(wallet_id):
    return statements.balance_at(wallet_id, request.args.get("at"))


@bp.get("/wallets/<wallet_id>/statement")
def statement(wallet_id):
    a = request.args
    return statements.statement(wallet_id, a.get("from"), a.get("to"), cursor=a.get("cursor"), limit=a.get("limit"))


@bp.get("/wallets/<wallet_id>/statement.csv")
def statement_csv(wallet_id):
    wallet, period = statements.wallet_period(wallet_id, request.args.get("from"), request.args.get("to"))
    exports.record_export(_actor(), "statement", {"wallet_id": wallet["id"], **vars(period)})
    return csv_response(exports.stream_statement(wallet, period), f"statement-{wallet['id']}-{period.label()}.csv")


@bp.get("/wallets/<wallet_id>/statement.pdf")
def statement_as_pdf(wallet_id):
    wallet, period = statements.wallet_period(wallet_id, request.args.get("from"), request.args.get("to"))
    exports.record_export(_actor(), "statement_pdf", {"wallet_id": wallet["id"], **vars(period)})
    return statement_pdf.answer(wallet, period)


@bp.get("/trial-balance")
def trial_balance():
    return statements.trial_balance(request.args.get("at"))


@bp.get("/events")
def list_events():
    """The events feed, for those who pull instead of being called."""
    return feed.list_events(request.args.get("after"), request.args.get("types"), request.args.get("limit"))


@bp.post("/webhook-endpoints")
def create_webhook_endpoint():
    body = _body(schemas.WEBHOOK_ENDPOINT)
    return webhooks.create(body["url"], body.get("event_types"), body.get("enabled", True), actor=_actor()), 201


@bp.get("/webhook-endpoints")
def list_webhook_endpoints():
    return {"data": webhooks.list_endpoints()}


@bp.get("/webhook-endpoints/<endpoint_id>")
def get_webhook_endpoint(endpoint_id):
    return webhooks.get(endpoint_id)


@bp.patch("/webhook-endpoints/<endpoint_id>")
def update_webhook_endpoint(endpoint_id):
    return webhooks.update(endpoint_id, actor=_actor(), **_body(schemas.WEBHOOK_ENDPOINT_PATCH))


@bp.delete("/webhook-endpoints/<endpoint_id>")
def delete_webhook_endpoint(endpoint_id):
    webhooks.delete(endpoint_id, actor=_actor())
    return "", 204


@bp.post("/webhook-endpoints/<endpoint_id>/rotate-secret")
def rotate_webhook_secret(endpoint_id):
    return webhooks.rotate_secret(endpoint_id, actor=_actor())


@bp.post("/webhook-endpoints/<endpoint_id>/test")
def test_webhook_endpoint(endpoint_id):
    return webhooks.send_test(endpoint_id, actor=_actor()), 202


@bp.get("/webhook-endpoints/<endpoint_id>/attempts")
def webhook_attempts(endpoint_id):
    return {"data": webhooks.attempts(endpoint_id)}


@bp.post("/reconciliations")
def upload_statement():
    """A bank's statement as text/csv, matched to the ledger; the layout and the matching's
    tolerance and window are query parameters."""
    if request.mimetype != "text/csv":
        raise ApiError(415, "unsupported_media_type", "Send the statement as text/csv.")
    request.max_content_length = current_app.config["STATEMENT_MAX_CONTENT_LENGTH"]
    try:
        csv_text = request.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, "invalid_statement", "The statement is not UTF-8 text.", field="statement") from None
    args = request.args
    answer = bank.import_statement(
        args.get("currency"),
        csv_text,
        actor=_actor(),
        layout=args.get("layout") or bank_csv.layout_from(args),
        tolerance=args.get("tolerance"),
        window_days=args.get("window_days"),
        save_layout=args.get("save_layout"),
    )
    return answer, 201


@bp.get("/reconciliations")
def list_reconciliations():
    items, cursor = bank.recent(request.args.get("cursor"), _limit())
    return {"data": items, "next_cursor": cursor}


@bp.get("/reconciliations/<reconciliation_id>")
def get_reconciliation(reconciliation_id):
    return bank.summary(reconciliation_id)


@bp.get("/reconciliations/<reconciliation_id>/breaks.csv")
def reconciliation_breaks(reconciliation_id):
    bank.get(reconciliation_id)  # 404 / 422 before streaming starts
    return csv_response(bank_resolve.breaks_csv(reconciliation_id), f"breaks-{reconciliation_id}.csv")


def _limit() -> int:
    return validate.limit(request.args.get("limit"), default=50, maximum=200)


@bp.get("/openapi.json")
def openapi():
    return document()
