"""Reads from a streaming replica: they land there, a writer reads its own writes at once while
others may lag, and a replica too far behind or down is skipped with no error to the user."""

import time
import uuid

from sqlalchemy import text

from tests.conftest import make_app, signed_in
from tests.scale.conftest import api_token
from wallet_app import reads
from wallet_app.extensions import db
from wallet_app.services.audit import Actor
from wallet_app.services.operators import create_operator


def new_wallet(client, headers, amount="10.00") -> int:
    made = client.post("/api/v1/wallets", json={"owner_name": "Replica Reader", "currency": "USD"}, headers=headers)
    assert made.status_code == 201, made.json
    fund(client, headers, made.json["id"], amount)
    return made.json["id"]


def fund(client, headers, wallet_id: int, amount: str) -> None:
    done = client.post(
        f"/api/v1/wallets/{wallet_id}/fund",
        json={"amount": amount},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert done.status_code == 201, done.json


def balance(client, headers, wallet_id: int) -> tuple[str, str]:
    """(balance, which server the reads went to) as the API answers them."""
    got = client.get(f"/api/v1/wallets/{wallet_id}", headers=headers)
    assert got.status_code == 200, got.data
    return got.json["balance"], got.headers["X-Read-From"]


def test_reads_land_on_the_replica_and_writes_on_the_primary(replica_app, replicated, database):
    app = replica_app()
    client, writer, reader = app.test_client(), api_token(app), api_token(app, "read")
    wallet = new_wallet(client, writer)
    replicated.replica.catch_up(database.url)

    assert balance(client, reader, wallet) == ("10.00", "replica")
    assert balance(client, writer, wallet) == ("10.00", "replica")  # its write is replayed
    history = client.get(f"/api/v1/wallets/{wallet}/history", headers=reader)
    assert history.headers["X-Read-From"] == "replica" and len(history.json["data"]) == 1
    listed = client.get("/api/v1/wallets", headers=reader)
    assert listed.headers["X-Read-From"] == "replica" and wallet in [w["id"] for w in listed.json["data"]]

    # Ask the servers themselves: a GET's read session is the standby, a POST's the primary.
    ask = text("SELECT pg_is_in_recovery(), inet_server_port()")
    with app.test_request_context("/", method="GET"):
        assert tuple(reads.session().execute(ask).one()) == (True, replicated.replica.port)
    with app.test_request_context("/", method="POST"):
        assert tuple(reads.session().execute(ask).one()) == (False, replicated.primary.port)


def test_console_pages_and_exports_read_from_the_replica(replica_app, replicated, database):
    app = replica_app()
    client = app.test_client()
    wallet = new_wallet(client, api_token(app))
    with app.app_context():
        finance = create_operator(
            f"fin-{uuid.uuid4().hex[:6]}@example.com",
            "correct horse battery staple",
            "finance",
            actor=Actor("cli", "cli"),
        )
        finance_id, login_id = finance.id, finance.get_id()
    signed_in(client, finance_id, login_id)
    replicated.replica.catch_up(database.url)

    for url in ("/", "/wallets", f"/wallets/{wallet}", f"/wallets/{wallet}/history"):
        page = client.get(url)
        assert (page.status_code, page.headers.get("X-Read-From")) == (200, "replica"), url
    export = client.get(f"/finance/exports/history.csv?wallet_id={wallet}")
    assert export.status_code == 200 and export.headers["X-Read-From"] == "replica"
    assert export.data.decode().count("\n") == 2  # the header and the fund
    # Reconcile's checks are the write side's: always the primary.
    assert "X-Read-From" not in client.get("/finance/reconcile").headers


def test_a_writer_sees_its_own_write_while_replay_is_paused_and_others_may_lag(replica_app, replicated, database):
    app = replica_app()
    client, writer, other = app.test_client(), api_token(app), api_token(app, "read")
    wallet = new_wallet(client, writer)
    replicated.replica.catch_up(database.url)
    replicated.replica.pause_replay()
    try:
        fund(client, writer, wallet, "5.00")
        assert balance(client, writer, wallet) == ("15.00", "primary")  # at once, from the primary
        assert balance(client, other, wallet) == ("10.00", "replica")  # slightly stale, allowed
        page = client.get(f"/api/v1/wallets/{wallet}/history", headers=writer)
        assert page.headers["X-Read-From"] == "primary" and len(page.json["data"]) == 2
    finally:
        replicated.replica.resume_replay()
    replicated.replica.catch_up(database.url)
    assert balance(client, other, wallet) == ("15.00", "replica")
    assert balance(client, writer, wallet) == ("15.00", "replica")  # replayed: back to the replica


def test_a_replica_too_far_behind_is_skipped_and_readyz_says_so(replica_app, replicated, database):
    app = replica_app(REPLICA_MAX_LAG_SECONDS=0.5)
    client, writer, other = app.test_client(), api_token(app), api_token(app, "read")
    wallet = new_wallet(client, writer)
    replicated.replica.catch_up(database.url)
    assert client.get("/readyz").json["replica"] == "ok"
    replicated.replica.pause_replay()
    try:
        fund(client, writer, wallet, "5.00")
        time.sleep(1)
        assert balance(client, other, wallet) == ("15.00", "primary")
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json["replica"] == "lagging", ready.json
        assert ready.json["replica_lag_seconds"] > 0.5
    finally:
        replicated.replica.resume_replay()
    replicated.replica.catch_up(database.url)
    assert balance(client, other, wallet) == ("15.00", "replica")
    assert client.get("/readyz").json["replica"] == "ok"


def test_a_stopped_replica_falls_back_to_the_primary_with_no_error(replica_app, replicated, database):
    app = replica_app()
    client, writer, other = app.test_client(), api_token(app), api_token(app, "read")
    wallet = new_wallet(client, writer)
    replicated.replica.catch_up(database.url)
    assert balance(client, other, wallet) == ("10.00", "replica")  # a replica connection now in the pool
    replicated.replica.stop()
    try:
        fund(client, writer, wallet, "5.00")
        assert balance(client, other, wallet) == ("15.00", "primary")
        assert balance(client, other, wallet) == ("15.00", "primary")  # skipped while down, no wait
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json["replica"] == "down", ready.json
    finally:
        replicated.replica.start()
    replicated.replica.catch_up(database.url)
    time.sleep(0.6)  # REPLICA_RETRY_SECONDS
    assert balance(client, other, wallet) == ("15.00", "replica")
    assert client.get("/readyz").json["replica"] == "ok"


def test_without_a_replica_every_read_is_the_primary(database):
    app = make_app(database.url)
    with app.test_request_context("/", method="GET"):
        assert reads.session() is db.session
        assert reads.session().execute(text("SELECT pg_is_in_recovery()")).scalar() is False
    assert app.test_client().get("/readyz").json == {"status": "ok", "database": "ok", "replica": "none"}
    with app.app_context():
        db.engine.dispose()
