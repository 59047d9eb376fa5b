"""Concurrency on PostgreSQL: many threads moving money at once never deadlock, overdraw or drift."""

import random
import threading
import time
import uuid
from decimal import Decimal

from sqlalchemy import func, select

from tests.conftest import ledger_api
from wallet_app.errors import InsufficientFunds, WalletError
from wallet_app.extensions import db
from wallet_app.models import Transaction, WalletHistory
from wallet_app.services.audit import Actor

ACTOR = Actor("token:1", "load-test")
THREADS = 16


def run_threads(app, work, n=THREADS):
    """Run `work(index)` in n threads, each in its own app context (its own session and
    connection); return what each raised that was not an expected business refusal."""
    barrier, failures = threading.Barrier(n), []

    def runner(i):
        with app.app_context():
            barrier.wait()
            try:
                work(i)
            except Exception as exc:  # collected, then asserted empty
                failures.append(repr(exc))

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    [t.start() for t in threads]
    [t.join() for t in threads]
    return failures, time.perf_counter() - started


def make_wallets(app, n, amount):
    with app.app_context():
        svc = ledger_api()
        ids = [svc.create_wallet(f"Owner {i}", "USD", actor=ACTOR)["id"] for i in range(n)]
        for w in ids:
            svc.fund(w, amount, idempotency_key=str(uuid.uuid4()), actor=ACTOR)
        return ids


def test_random_and_opposite_transfers_hold_every_invariant(committing_app, capsys):
    ids = make_wallets(committing_app, 20, "1000.00")
    counts = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def work(i):
        rng, svc = random.Random(i), ledger_api()
        for n in range(300):
            if i < 4:  # four threads send A->B and B->A pairs back to back
                a, b = (ids[0], ids[1]) if (i + n) % 2 else (ids[1], ids[0])
            else:
                a, b = rng.sample(ids, 2)
            try:
                svc.transfer(a, b, f"{rng.randint(1, 20000) / 100:.2f}", idempotency_key=str(uuid.uuid4()), actor=ACTOR)
                outcome = "ok"
            except InsufficientFunds:
                outcome = "refused"
            with lock:
                counts[outcome] += 1

    failures, seconds = run_threads(committing_app, work)
    assert failures == []  # no deadlock or other error surfaced
    assert counts["ok"] + counts["refused"] == THREADS * 300
    with committing_app.app_context():
        svc = ledger_api()
        assert svc.reconcile().ok
        total = sum(Decimal(svc.get_wallet(w)["balance"]) for w in ids)
        assert total == Decimal("20000.00")
        assert (
            db.session.scalar(select(func.min(WalletHistory.balance_after)).where(WalletHistory.wallet_id.in_(ids)))
            >= 0
        )
        assert db.session.scalar(select(func.count()).select_from(Transaction)) == 20 + counts["ok"]
    with capsys.disabled():
        print(
            f"\n[concurrency] {THREADS}x300 transfers: {counts['ok']} moved, {counts['refused']} refused "
            f"(overdraft) in {seconds:.1f}s = {THREADS * 300 / seconds:.0f} transfers/s"
        )


def test_hot_wallet_drains_to_exactly_zero_and_never_below(committing_app, capsys):
    hot, *others = make_wallets(committing_app, 5, "200.00")
    moved = []

    def work(i):
        svc = ledger_api()
        while True:
            try:
                svc.transfer(hot, others[i % 4], "0.50", idempotency_key=str(uuid.uuid4()), actor=ACTOR)
            except InsufficientFunds:
                return
            moved.append(1)

    failures, seconds = run_threads(committing_app, work)
    assert failures == []
    assert len(moved) == 400  # 200.00 / 0.50, not one more
    with committing_app.app_context():
        svc = ledger_api()
        assert svc.get_wallet(hot)["balance"] == "0.00"
        assert svc.reconcile().ok
    with capsys.disabled():
        print(
            f"\n[concurrency] hot wallet drained by {THREADS} threads: 400 transfers in {seconds:.1f}s "
            f"= {400 / seconds:.0f} transfers/s"
        )


def test_racing_partial_reversals_never_reverse_more_than_the_original(committing_app):
    a, b = make_wallets(committing_app, 2, "100.00")
    with committing_app.app_context():
        tx = ledger_api().transfer(a, b, "10.00", idempotency_key=str(uuid.uuid4()), actor=ACTOR).transaction
    outcomes = []

    def work(i):
        try:
            ledger_api().reverse(
                tx["id"], amount="1.50", reason=f"race {i}", idempotency_key=str(uuid.uuid4()), actor=ACTOR
            )
            outcomes.append("ok")
        except WalletError as exc:
            outcomes.append(exc.code)

    failures, _ = run_threads(committing_app, work)
    assert failures == []
    assert sorted(outcomes) == ["ok"] * 6 + ["reversal_exceeds_original"] * 10  # 6 x 1.50 <= 10.00 < 7 x 1.50
    with committing_app.app_context():
        svc = ledger_api()
        assert svc.get_transaction(tx["id"])["reversed_amount"] == "9.00"
        assert svc.reconcile().ok


def test_concurrent_transfers_never_pass_the_daily_outflow_limit(committing_app):
    ids = make_wallets(committing_app, 2, "500.00")
    with committing_app.app_context():
        ledger_api().set_limits(ids[0], actor=ACTOR, daily_outflow_limit="100.00")
    outcomes = []

    def work(i):
        for _ in range(3):
            try:
                ledger_api().transfer(ids[0], ids[1], "7.00", idempotency_key=str(uuid.uuid4()), actor=ACTOR)
                outcomes.append("ok")
            except WalletError as exc:
                outcomes.append(exc.code)

    failures, _ = run_threads(committing_app, work)
    assert failures == []
    assert outcomes.count("ok") == 14 and set(outcomes) == {"ok", "daily_limit_exceeded"}  # 14 x 7 = 98
    with committing_app.app_context():
        svc = ledger_api()
        assert svc.get_wallet(ids[0])["balance"] == "402.00"
        assert svc.reconcile().ok


def test_concurrent_funds_never_push_a_wallet_past_its_maximum(committing_app):
    (wallet,) = make_wallets(committing_app, 1, "10.00")
    with committing_app.app_context():
        ledger_api().set_limits(wallet, actor=ACTOR, max_balance="50.00")
    outcomes = []

    def work(i):
        try:
            ledger_api().fund(wallet, "4.00", idempotency_key=str(uuid.uuid4()), actor=ACTOR)
            outcomes.append("ok")
        except WalletError as exc:
            outcomes.append(exc.code)

    failures, _ = run_threads(committing_app, work)
    assert failures == []
    assert sorted(outcomes) == ["max_balance_exceeded"] * 6 + ["ok"] * 10  # 10 + 10 x 4 = 50
    with committing_app.app_context():
        svc = ledger_api()
        assert svc.get_wallet(wallet)["balance"] == "50.00"
        assert svc.reconcile().ok
