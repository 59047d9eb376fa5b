"""The bank test: money is conserved and every acknowledged transfer happened exactly once,
while gunicorn workers are SIGKILLed and PostgreSQL restarts under 16 concurrent clients,
with the house's policy set (approval thresholds, fees, exchange rates) and a second owner
approving what waits; a `flask worker` delivers every event to a webhook receiver throughout.

Short form here (BANK_SECONDS, default 30); `make soak` runs it for 10 minutes.
"""

import json
import os
import subprocess
import time
from contextlib import closing, contextmanager
from decimal import Decimal

import psycopg
import pytest

from tests import bank, pg
from tests.conftest import DOUBLE_ENTRY_VIOLATIONS, make_app, migrate
from tests.receiver import Receiver, start_worker, stop_worker, worker_log
from wallet_app.events import webhooks
from wallet_app.extensions import db
from wallet_app.ledger import fees, rates
from wallet_app.services.audit import Actor

SECONDS = float(os.environ.get("BANK_SECONDS", "30"))


@pytest.fixture
def own_cluster():
    """A cluster this test may restart: never the shared server."""
    cluster = pg.Cluster()
    try:
        name = pg.create_database(cluster.url)
        url = pg.with_database(cluster.url, name)
        migrate(url)
        set_policy(url)
        yield cluster, url
    finally:
        cluster.destroy()


def set_policy(url: str) -> None:
    """As finance and an admin would: a threshold per currency that a wallet's day of
    transfers passes (so movements wait for the checker), a withdrawal fee, and rates with
    spreads both ways (not each other's inverse: the desk earns on a round trip)."""
    admin = Actor("user:bank-admin", "admin@example.com")
    app = make_app(url)
    with app.app_context():
        for currency in ("USD", "EUR"):
            rates.set_threshold(currency, "2000.00", actor=admin)
            fees.set_fee(currency, "withdrawal", fixed="0.25", bps=50, actor=admin)
        rates.set_rate("USD", "EUR", "0.9", spread_bps=30, actor=admin)
        rates.set_rate("EUR", "USD", "1.1", spread_bps=30, actor=admin)
        db.engine.dispose()


@contextmanager
def delivering(url: str):
    """A webhook receiver taking every event type, and a `flask worker` delivering to it
    through the whole run (database restarts included): yields the receiver and a function
    that waits until every committed event has been delivered."""
    rx = Receiver()
    app = make_app(url, WEBHOOK_ALLOW_PRIVATE=True)
    with app.app_context():
        webhooks.create(rx.url, actor=Actor("user:bank-admin", "admin@example.com"))
        db.engine.dispose()
    worker = start_worker(url, WEBHOOK_TIMEOUT_S="2")

    def drained(limit: float = 120.0) -> None:
        end = time.monotonic() + limit
        # (never prepared: this may run through PgBouncer in transaction pooling)
        with closing(psycopg.connect(url, autocommit=True, prepare_threshold=None)) as conn:
            while time.monotonic() < end:
                left = conn.execute(
                    "SELECT (SELECT count(*) FROM events WHERE seq IS NULL)"
                    " + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')"
                ).fetchone()[0]
                if left == 0:
                    return
                time.sleep(0.2)
        raise AssertionError(f"{left} events not yet delivered after {limit:.0f} s; the worker:\n{worker_log(worker)}")

    try:
        yield rx, drained
    finally:
        stop_worker(worker)
        rx.close()


def test_bank_workload_survives_worker_kills_and_database_restarts(own_cluster, capsys):
    with delivering(own_cluster[1]) as delivered:
        check_bank(own_cluster, delivered, capsys)


def check_bank(own_cluster, delivered, capsys, faults=None, seconds=SECONDS, **options) -> bank.Stats:
    """The bank run on (cluster, url) and every check of its outcome (the PgBouncer test runs
    it through a bouncer, the failover test of tests/ha on a Patroni cluster). `faults`: the
    run's own (bank.run), checked by the caller; by default workers killed and the cluster
    restarted, checked here."""
    cluster, url = own_cluster
    with capsys.disabled():
        stats, info = bank.run(
            url, seconds, faults or bank.restarts_and_kills(cluster), log=lambda line: print("\n" + line), **options
        )

    assert stats.attempted > 0 and len(stats.acknowledged) > 0
    if faults is None:
        assert any(f.startswith("SIGKILL") for f in stats.faults)
        assert [f for f in stats.faults if f.startswith("postgres")] == [
            "postgres restart (fast)",
            "postgres restart (immediate)",
        ]
        assert all(s < 5 for s in stats.ready_after_restart), stats.ready_after_restart
    assert stats.unresolved == []  # every transfer was answered, with retries where needed
    assert len(stats.acknowledged) + sum(stats.refused.values()) == stats.attempted
    assert set(stats.refused) <= {
        "insufficient_funds",
        "reversal_exceeds_original",
        "hold_not_pending",
        "not_awaiting_approval",
        "batch_refused",  # an atomic batch with an item short of funds: every item with it
        "batch_rejected",  # a waiting atomic batch that could not post when the checker came
    }
    assert set(stats.batch_modes) == {"atomic", "independent"} and stats.batched
    kinds = {kind for _, kind, *_ in stats.acknowledged.values()}
    assert kinds >= {
        "transfer",
        "reversal",
        "withdrawal",
        "exchange",
        "hold",
        "capture",
        "void",
        "request",
        "approve",
    }, kinds
    assert stats.total_checks > 0 and stats.total_violations == []

    env = {**os.environ, "DATABASE_URL": url, "FLASK_DEBUG": "1"}
    time.sleep(4)  # every hold's expires_in (at most 4 s) has passed
    expire = subprocess.run(
        [str(bank.ROOT / ".venv/bin/flask"), "--app", "wsgi", "expire-holds"],
        cwd=bank.ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert expire.returncode == 0, expire.stdout + expire.stderr
    reconcile = subprocess.run(
        [str(bank.ROOT / ".venv/bin/flask"), "--app", "wsgi", "reconcile"],
        cwd=bank.ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr

    with closing(psycopg.connect(url)) as conn:
        assert conn.execute(DOUBLE_ENTRY_VIOLATIONS).fetchone()[0] == 0
        assert conn.execute(
            "SELECT min(h.balance_after) >= 0 FROM wallet_history h JOIN wallets w "
            "ON w.id = h.wallet_id WHERE w.system_purpose IS NULL"
        ).fetchone()[0]
        # Each key as the client saw it: a request that waited (202), a hold's creation (its
        # held amount), a resolution (capture: what was captured; void, approve, reject), or
        # any other movement.
        rows = conn.execute("""
            SELECT k.key, t.id,
                   CASE WHEN k.operation <> 'post' THEN k.operation WHEN k.response_status = 202 THEN 'request'
                        WHEN t.held_amount IS NOT NULL THEN 'hold' ELSE t.kind END,
                   CASE WHEN k.operation = 'post' AND k.response_status = 201 THEN coalesce(t.held_amount, t.amount)
                        ELSE t.amount END,
                   t.source_wallet_id, t.dest_wallet_id
            FROM idempotency_keys k JOIN transactions t ON t.id = k.transaction_id
            WHERE t.kind <> 'fund' AND k.operation <> 'expire'""").fetchall()
        moved = {key: (tx_id, kind, f"{amount:.2f}", src, dst) for key, tx_id, kind, amount, src, dst in rows}
        # Every acknowledged movement exists exactly once, as acknowledged...
        wrong = {k: (v, moved.get(k)) for k, v in stats.acknowledged.items() if moved.get(k) != v}
        assert wrong == {}, "acknowledged (as the client saw it, as the ledger has it)"
        # ...and nothing else moved money: no movement without its key, no key applied twice.
        movements = conn.execute("SELECT count(*) FROM transactions WHERE kind <> 'fund'").fetchone()[0]
        posted = sum(
            kind not in ("capture", "void", "approve", "reject") for _, kind, *_ in stats.acknowledged.values()
        )
        assert (movements, len(moved)) == (posted, len(stats.acknowledged)), set(moved) - set(stats.acknowledged)
        # Every hold ended: captured, voided, or expired by the command; none still counts.
        assert conn.execute("SELECT count(*) FROM transactions WHERE status = 'pending'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM wallets WHERE held <> 0").fetchone()[0] == 0
        # An atomic batch is all or nothing, whatever crashed meanwhile: every item posted, or none.
        halves = conn.execute("""
            SELECT count(*) FROM batches b
            WHERE b.mode = 'atomic'
              AND (SELECT count(*) FROM transactions t WHERE t.batch_id = b.id) NOT IN (0, b.item_count)""")
        assert halves.fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM batches WHERE status = 'awaiting_approval'").fetchone()[0] == 0
        # Each posted item of a batch names its batch.
        for key, batch_id in stats.batched.items():
            tx_id = stats.acknowledged[key][0]
            assert conn.execute("SELECT batch_id FROM transactions WHERE id = %s", (tx_id,)).fetchone()[0] == batch_id
        # Every acknowledged movement's event reached the receiver, signed; every event of the
        # feed did (the worker ran through the restarts).
        rx, drained = delivered
        drained()
        received = {}
        for r in rx.accepted():
            body = json.loads(r["body"])
            received[body["id"]] = body
        feed_ids = {row[0] for row in conn.execute("SELECT 'evt_' || id FROM events WHERE seq > 0")}
        assert feed_ids == set(received)
        touched = {b["data"]["id"] for b in received.values() if b["type"].startswith("transaction.")}
        assert {tx_id for tx_id, *_ in stats.acknowledged.values()} <= touched
        for key in stats.retried_keys:
            assert conn.execute("SELECT count(*) FROM idempotency_keys WHERE key = %s", (key,)).fetchone()[0] <= 1
        # Each payout wallet holds its 1000.00 less what was acknowledged out (fees included),
        # posted at once or approved by the checker, plus what came back.
        acknowledged = [(key, *value) for key, value in stats.acknowledged.items()]
        for wallet in info["payouts"]:
            out = sum(
                Decimal(a) + stats.fees[key]
                for key, _, kind, a, src, dst in acknowledged
                if kind in ("withdrawal", "approve") and src == wallet and dst is None
            )
            back = sum(
                Decimal(a)
                for key, _, kind, a, src, dst in acknowledged
                if kind in ("reversal", "approve") and dst == wallet and src is None
            )
            balance = conn.execute("SELECT balance FROM wallets WHERE id = %s", (wallet,)).fetchone()[0]
            assert balance == Decimal("1000.00") - out + back, wallet
    return stats
