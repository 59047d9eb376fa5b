"""The Python floor for bench row 3: a bare WSGI callable doing what POST /api/v1/transfers
does for the ledger and nothing else, served by the same server with the same settings.

It parses the same JSON body, composes the same movement (the catalogue's legs, the same
fingerprint), runs the engine's own statement (engine.POST_SQL) on a pooled autocommit
psycopg connection and answers the transaction as JSON (queries.transaction_dict). No Flask,
token, rate limit, request log or security headers: the HTTP row's ratio to this row is
what the web stack costs on top of the ledger's own Python work.

gunicorn -c gunicorn.conf.py bench.floor:app   (DATABASE_URL names the database)

`flask_app` (row 3ff) does the same work behind one bare Flask route: between the two rows is
what Flask's request machinery alone costs, before anything the app itself adds.
"""

import json
import os
import queue
import uuid
from decimal import Decimal

import psycopg

from wallet_app.config import from_env
from wallet_app.ledger.catalogue import KINDS, Movement
from wallet_app.ledger.engine import POST_SQL, Posted
from wallet_app.ledger.idempotency import fingerprint
from wallet_app.ledger.queries import transaction_dict

URL = os.environ.get("DATABASE_URL", "").replace("postgresql+psycopg://", "postgresql://")
CONFIG = from_env()  # the app's settings (rate age, approval expiry) that the engine call passes
# Four eyes binds every principal: the floor's call checks the approval threshold, as the
# endpoint's does.
_idle: queue.LifoQueue = queue.LifoQueue()  # this worker's connections (made after the fork)


def _array(values) -> str:
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def _post(m: Movement, key: str, fp: str) -> Posted:
    legs = KINDS[m.kind].legs(m)
    params = dict(
        scope="bench",
        key=key,
        fp=fp,
        kind=m.kind,
        amount=m.amount,
        source=m.source,
        dest=m.dest,
        reference=m.reference,
        actor="bench",
        ip="127.0.0.1",
        wallets=_array(leg.wallet_id for leg in legs),
        systems=_array(leg.system for leg in legs),
        likes=_array(None if leg.like is None else leg.like + 1 for leg in legs),
        amounts=_array(leg.amount for leg in legs),
        fields=_array(leg.field for leg in legs),
        fee_payer=KINDS[m.kind].fee_payer + 1,
        reverses=None,
        refund_fee=None,
        reason=None,
        dry_run=False,
        converts=_array(str(leg.converted).lower() for leg in legs),
        rate=None,
        rate_max_age=CONFIG["FX_RATE_MAX_AGE"],
        pending=False,
        expires_in=CONFIG["APPROVAL_EXPIRES_IN"],
        owner="bench",
        four_eyes=KINDS[m.kind].four_eyes,
        fee_kind=KINDS[m.kind].fee_kind,
        resolve=None,
        target=None,
        reversible=None,
        issuer=None,
        holdable=False,
    )
    try:
        conn = _idle.get_nowait()
    except queue.Empty:
        conn = psycopg.connect(URL, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(POST_SQL, params)
            posted = Posted(*cursor.fetchone())
    except BaseException:
        conn.close()
        raise
    _idle.put(conn)
    return posted._replace(leg_systems=[None, None] + ["fees"] * (len(posted.leg_wallets) - 2))


def transfer(body: dict, key: str | None) -> bytes:
    """The endpoint's ledger work for one parsed body: the movement, its fingerprint, the
    engine's call and the answer as JSON."""
    m = Movement(
        "transfer",
        Decimal(body["amount"]),
        int(body["from_wallet_id"]),
        int(body["to_wallet_id"]),
        body.get("reference"),
    )
    fp = fingerprint(
        m.kind,
        source=m.source,
        dest=m.dest,
        amount=f"{m.amount:f}",
        reference=m.reference,
        reason=None,
        reverses=None,
        refund_fee=False,
        rate=None,
        hold=None,
    )
    p = _post(m, key or uuid.uuid4().hex, fp)
    return json.dumps(
        transaction_dict(
            m,
            p.tx_id,
            p.tx_currency,
            "bench",
            p.posted_at,
            p.tx_fee,
            list(zip(p.leg_wallets, p.leg_systems, p.leg_amounts, p.leg_balances, p.leg_currencies)),
        )
    ).encode()


def app(environ, start_response):
    if environ["PATH_INFO"] == "/readyz":  # what the harness waits for
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    answer = transfer(json.loads(environ["wsgi.input"].read(length)), environ.get("HTTP_IDEMPOTENCY_KEY"))
    start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
    return [answer]


def _flask_floor():
    """The same work as `app` behind a bare Flask route (no extension, hook, auth, limit or
    log): what Flask's request machinery alone costs on top of the floor."""
    from flask import Flask, Response, request

    bare = Flask(__name__)

    @bare.get("/readyz")
    def ready():
        return "ok"

    @bare.post("/api/v1/transfers")
    def transfers():
        answer = transfer(request.get_json(), request.headers.get("Idempotency-Key"))
        return Response(answer, 201, mimetype="application/json")

    return bare


flask_app = _flask_floor()
