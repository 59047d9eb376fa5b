"""The bank test: money is conserved and every acknowledged transfer happened exactly once,
while gunicorn workers are SIGKILLed and PostgreSQL restarts under 16 concurrent clients.

Short form here (BANK_SECONDS, default 30); `make soak` runs it for 10 minutes.
"""
import os
import time
import subprocess
from contextlib import closing
from decimal import Decimal

import psycopg
import pytest

from tests import bank, pg
from tests.conftest import DOUBLE_ENTRY_VIOLATIONS, migrate

SECONDS = float(os.environ.get("BANK_SECONDS", "30"))


@pytest.fixture
def own_cluster():
    """A cluster this test may restart: never the shared server."""
    cluster = pg.Cluster()
    try:
        name = pg.create_database(cluster.url)
        url = pg.with_database(cluster.url, name)
        migrate(url)
        yield cluster, url
    finally:
        cluster.destroy()


def test_bank_workload_survives_worker_kills_and_database_restarts(own_cluster, capsys):
    cluster, url = own_cluster
    with capsys.disabled():
        stats, info = bank.run(cluster, url, SECONDS, log=lambda line: print("\n" + line))

    assert stats.attempted > 0 and len(stats.acknowledged) > 0
    assert any(f.startswith("SIGKILL") for f in stats.faults)
    assert [f for f in stats.faults if f.startswith("postgres")] == [
        "postgres restart (fast)", "postgres restart (immediate)"]
    assert stats.unresolved == []  # every transfer was answered, with retries where needed
    assert len(stats.acknowledged) + sum(stats.refused.values()) == stats.attempted
    assert set(stats.refused) <= {"insufficient_funds", "reversal_exceeds_original", "hold_not_pending"}
    kinds = {kind for _, kind, *_ in stats.acknowledged.values()}
    assert kinds == {"transfer", "reversal", "withdrawal", "hold", "capture", "void"}, kinds
    assert stats.total_checks > 0 and stats.total_violations == []
    assert all(s < 5 for s in stats.ready_after_restart), stats.ready_after_restart

    env = {**os.environ, "DATABASE_URL": url, "FLASK_DEBUG": "1"}
    time.sleep(4)  # every hold's expires_in (at most 4 s) has passed
    expire = subprocess.run([str(bank.ROOT / ".venv/bin/flask"), "--app", "wsgi", "expire-holds"],
                            cwd=bank.ROOT, env=env, capture_output=True, text=True)
    assert expire.returncode == 0, expire.stdout + expire.stderr
    reconcile = subprocess.run([str(bank.ROOT / ".venv/bin/flask"), "--app", "wsgi", "reconcile"],
                               cwd=bank.ROOT, env=env, capture_output=True, text=True)
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr

    with closing(psycopg.connect(url)) as conn:
        assert conn.execute(DOUBLE_ENTRY_VIOLATIONS).fetchone()[0] == 0
        assert conn.execute("SELECT min(h.balance_after) >= 0 FROM wallet_history h JOIN wallets w "
                            "ON w.id = h.wallet_id WHERE w.system_purpose IS NULL").fetchone()[0]
        # Each key as the client saw it: a hold's creation (its held amount), its capture (what
        # was captured), its void (nothing moved), or any other movement.
        rows = conn.execute("""
            SELECT k.key, t.id,
                   CASE WHEN k.operation <> 'post' THEN k.operation WHEN t.held_amount IS NOT NULL THEN 'hold'
                        ELSE t.kind END,
                   CASE WHEN k.operation = 'post' THEN coalesce(t.held_amount, t.amount) ELSE t.amount END,
                   t.source_wallet_id, t.dest_wallet_id
            FROM idempotency_keys k JOIN transactions t ON t.id = k.transaction_id
            WHERE t.kind <> 'fund' AND k.operation <> 'expire'""").fetchall()
        moved = {key: (tx_id, kind, f"{amount:.2f}", src, dst) for key, tx_id, kind, amount, src, dst in rows}
        # Every acknowledged movement exists exactly once, as acknowledged...
        assert {k: moved.get(k) for k in stats.acknowledged} == stats.acknowledged
        # ...and nothing else moved money: no movement without its key, no key applied twice.
        movements = conn.execute("SELECT count(*) FROM transactions WHERE kind <> 'fund'").fetchone()[0]
        posted = sum(kind not in ("capture", "void") for _, kind, *_ in stats.acknowledged.values())
        assert movements == posted and len(moved) == len(stats.acknowledged)
        # Every hold ended: captured, voided, or expired by the command; none still counts.
        assert conn.execute("SELECT count(*) FROM transactions WHERE status = 'pending'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM wallets WHERE held <> 0").fetchone()[0] == 0
        for key in stats.retried_keys:
            assert conn.execute("SELECT count(*) FROM idempotency_keys WHERE key = %s", (key,)).fetchone()[0] <= 1
        # Each payout wallet holds its 1000.00 less what was acknowledged out, plus what came back.
        for wallet in info["payouts"]:
            out = sum(Decimal(a) for _, kind, a, src, _ in stats.acknowledged.values()
                      if kind == "withdrawal" and src == wallet)
            back = sum(Decimal(a) for _, kind, a, _, dst in stats.acknowledged.values()
                       if kind == "reversal" and dst == wallet)
            balance = conn.execute("SELECT balance FROM wallets WHERE id = %s", (wallet,)).fetchone()[0]
            assert balance == Decimal("1000.00") - out + back, wallet
