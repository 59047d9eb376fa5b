"""Stale-tolerant figures cached in Redis: the dashboard, the fee and rate tables are served
from the cache for CACHE_SECONDS, a change through the service deletes them, a principal who has just written
reads around it, and balances are never cached."""

import time
import uuid

import pytest
import redis
from sqlalchemy import text

from tests.conftest import make_app
from tests.scale.conftest import api_token
from wallet_app.extensions import db
from wallet_app.ledger import fees, operations, queries, rates
from wallet_app.request_log import note_principal
from wallet_app.services import stats
from wallet_app.services.audit import Actor

TTL = 1.0
ADMIN = Actor("user:1", "admin@example.com")


@pytest.fixture
def cached_app(fresh_database_url):
    prefix = f"cache-test-{uuid.uuid4().hex[:8]}"
    app = make_app(
        fresh_database_url(), REDIS_URL="redis://127.0.0.1:6379/0", RATELIMIT_KEY_PREFIX=prefix, CACHE_SECONDS=TTL
    )
    yield app
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()
    shared = redis.Redis(host="127.0.0.1", port=6379)
    for key in shared.scan_iter(f"{prefix}:*"):
        shared.delete(key)


def as_principal(app, who: str, method: str = "GET"):
    """A request context of `who` (an operator or token), as its request would have."""
    ctx = app.test_request_context("/", method=method)
    ctx.push()
    note_principal(who)
    return ctx


def usd_total(app, who: str) -> str:
    ctx = as_principal(app, who)
    try:
        return {t["currency"]: t["balance"] for t in stats.dashboard()["totals"]}.get("USD", "0.00")
    finally:
        ctx.pop()


def test_the_dashboard_is_cached_but_a_writer_and_balances_read_fresh(cached_app):
    app = cached_app
    ctx = as_principal(app, "user:2", "POST")
    wallet = operations.create_wallet("Cached", "USD", actor=Actor("user:2", "sam@example.com"))["id"]
    operations.fund(wallet, "10.00", idempotency_key=str(uuid.uuid4()), actor=Actor("user:2", "sam@example.com"))
    ctx.pop()

    assert usd_total(app, "user:7") == "10.00"  # computed, and kept
    ctx = as_principal(app, "user:2", "POST")
    operations.fund(wallet, "5.00", idempotency_key=str(uuid.uuid4()), actor=Actor("user:2", "sam@example.com"))
    ctx.pop()
    assert usd_total(app, "user:7") == "10.00"  # another operator: the cached figure, a little stale
    assert usd_total(app, "user:2") == "15.00"  # the writer reads around the cache
    ctx = as_principal(app, "user:7")
    assert queries.get_wallet(wallet)["balance"] == "15.00"  # a balance is never cached
    ctx.pop()
    time.sleep(TTL)
    assert usd_total(app, "user:7") == "15.00"  # expired: computed again


# (API path, how a row is named, its shown value, the service's change, the same change behind its back)
TABLES = {
    "fees": (
        "/api/v1/fees",
        lambda f: (f["currency"], f["kind"]),
        lambda f: f["fixed"],
        lambda value: fees.set_fee("USD", "transfer", fixed=value, actor=ADMIN),
        ("USD", "transfer"),
        "UPDATE fee_schedule SET fixed = :value",
    ),
    "rates": (
        "/api/v1/rates",
        lambda r: (r["base"], r["quote"]),
        lambda r: r["rate"],
        lambda value: rates.set_rate("USD", "EUR", value, actor=ADMIN),
        ("USD", "EUR"),
        "UPDATE fx_rates SET rate = :value",
    ),
}


@pytest.mark.parametrize("table", TABLES)
def test_the_fee_and_rate_tables_are_cached_and_a_change_deletes_them(cached_app, table):
    app, client = cached_app, cached_app.test_client()
    path, name, shown, change, row, behind_its_back = TABLES[table]
    reader = api_token(app, "read")
    with app.app_context():
        change("0.25")

    def value() -> str:
        listed = client.get(path, headers=reader)
        assert listed.status_code == 200
        return {name(r): shown(r) for r in listed.json["data"]}[row]

    assert value() == "0.25"
    with app.app_context():  # behind the service's back: nothing deletes the cached table
        db.session.execute(text(behind_its_back), {"value": "0.30"})
        db.session.commit()
    assert value() == "0.25"
    with app.app_context():  # through the service: the change deletes it
        change("0.75")
    assert value() == "0.75"


def test_without_redis_answering_figures_are_computed(fresh_database_url):
    app = make_app(fresh_database_url(), REDIS_URL="redis://127.0.0.1:1/0", CACHE_SECONDS=TTL)
    try:
        assert usd_total(app, "user:7") == "0.00"
        ctx = as_principal(app, "user:7")
        assert fees.list_fees() == []
        ctx.pop()
    finally:
        with app.app_context():
            db.engine.dispose()
