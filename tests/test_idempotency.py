"""Idempotency: a retry returns the first result and never moves money twice."""

import threading
import uuid

import pytest
from sqlalchemy import func, select

from tests.conftest import ledger_api
from wallet_app.errors import IdempotencyKeyReused
from wallet_app.extensions import db
from wallet_app.models import IdempotencyKey, Transaction
from wallet_app.services.audit import Actor


def test_same_key_and_parameters_twice_moves_once_and_replays(service, actor, make_wallet):
    a, b = make_wallet(balance="50.00"), make_wallet()
    first = service.transfer(a["id"], b["id"], "20.00", idempotency_key="retry-me", actor=actor)
    again = service.transfer(a["id"], b["id"], "20.00", idempotency_key="retry-me", actor=actor)
    assert not first.replayed and again.replayed
    assert again.transaction == first.transaction
    assert service.get_wallet(a["id"])["balance"] == "30.00"
    fund = service.fund(b["id"], "1", idempotency_key="fund-key", actor=actor)
    assert service.fund(b["id"], "1.00", idempotency_key="fund-key", actor=actor).transaction == fund.transaction
    assert service.get_wallet(b["id"])["balance"] == "21.00"


def test_same_key_with_other_parameters_is_refused(service, actor, make_wallet, ledger_snapshot):
    a, b = make_wallet(balance="50.00"), make_wallet()
    service.transfer(a["id"], b["id"], "20.00", idempotency_key="once", actor=actor)
    before = ledger_snapshot()
    for amount, ref in (("20.01", None), ("20.00", "other reference")):
        with pytest.raises(IdempotencyKeyReused):
            service.transfer(a["id"], b["id"], amount, idempotency_key="once", actor=actor, reference=ref)
    with pytest.raises(IdempotencyKeyReused):
        service.fund(a["id"], "20.00", idempotency_key="once", actor=actor)
    assert ledger_snapshot() == before


def test_a_failed_operation_releases_its_key(service, actor, make_wallet):
    a, b = make_wallet(balance="5.00"), make_wallet()
    with pytest.raises(Exception):
        service.transfer(a["id"], b["id"], "6.00", idempotency_key="k1", actor=actor)
    service.fund(a["id"], "1.00", idempotency_key=str(uuid.uuid4()), actor=actor)
    assert not service.transfer(a["id"], b["id"], "6.00", idempotency_key="k1", actor=actor).replayed
    assert service.get_wallet(b["id"])["balance"] == "6.00"


def test_two_threads_with_the_same_key_move_money_exactly_once(committing_app):
    actor = Actor("token:9", "twin-test")
    with committing_app.app_context():
        svc = ledger_api()
        a = svc.create_wallet("A", "USD", actor=actor)["id"]
        b = svc.create_wallet("B", "USD", actor=actor)["id"]
        svc.fund(a, "100.00", idempotency_key="seed", actor=actor)
    for round_ in range(10):
        barrier, results = threading.Barrier(2), []

        def send():
            with committing_app.app_context():
                barrier.wait()
                results.append(ledger_api().transfer(a, b, "1.00", idempotency_key=f"twin-{round_}", actor=actor))

        threads = [threading.Thread(target=send) for _ in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert len(results) == 2
        assert results[0].transaction == results[1].transaction
        assert sorted(r.replayed for r in results) == [False, True]
    with committing_app.app_context():
        svc = ledger_api()
        assert svc.get_wallet(a)["balance"] == "90.00"
        assert db.session.scalar(select(func.count()).select_from(Transaction)) == 11
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 11
        assert svc.reconcile().ok
