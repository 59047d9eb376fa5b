"""Holds and approvals over real connections: a capture racing a void, holds racing for one
balance, an approval racing the maker's own spending. Each thread has its own session."""

import uuid

from tests.conftest import ledger_api
from tests.test_concurrency import ACTOR, make_wallets, run_threads
from wallet_app.errors import HoldNotPending, InsufficientFunds
from wallet_app.ledger import rates
from wallet_app.services.audit import Actor

MAKER = Actor("user:101", "maker@example.com")
CHECKER = Actor("user:102", "checker@example.com")


def key():
    return str(uuid.uuid4())


def test_a_capture_racing_a_void_exactly_one_wins(committing_app):
    a, b = make_wallets(committing_app, 2, "1000.00")
    with committing_app.app_context():
        svc = ledger_api()
        holds = [
            svc.transfer(a, b, "10.00", idempotency_key=key(), actor=ACTOR, pending=True).transaction["id"]
            for _ in range(20)
        ]
    outcomes = {h: [] for h in holds}

    def work(i):
        svc = ledger_api()
        for h in holds:  # even threads capture every hold, odd ones void it, all at once
            try:
                if i % 2:
                    svc.void(h, idempotency_key=key(), actor=ACTOR)
                    outcomes[h].append("voided")
                else:
                    svc.capture(h, idempotency_key=key(), actor=ACTOR)
                    outcomes[h].append("captured")
            except HoldNotPending:
                pass

    failures, _ = run_threads(committing_app, work, n=8)
    assert failures == []
    assert all(len(won) == 1 for won in outcomes.values()), outcomes
    captured = sum(won == ["captured"] for won in outcomes.values())
    with committing_app.app_context():
        svc = ledger_api()
        assert svc.get_wallet(b)["balance"] == f"{1000 + 10 * captured}.00"
        assert svc.get_wallet(a)["held"] == "0.00"
        assert svc.reconcile().ok


def test_sixteen_holds_racing_for_one_balance_never_over_commit(committing_app):
    (a,), (b,) = make_wallets(committing_app, 1, "100.00"), make_wallets(committing_app, 1, "1.00")
    made, refused = [], []

    def work(i):
        try:
            made.append(
                ledger_api().transfer(a, b, "15.00", idempotency_key=key(), actor=ACTOR, pending=True).transaction["id"]
            )
        except InsufficientFunds:
            refused.append(i)

    failures, _ = run_threads(committing_app, work, n=16)
    assert failures == [] and len(made) == 6 and len(refused) == 10  # 6 x 15.00 <= 100.00 < 7 x 15.00
    with committing_app.app_context():
        svc = ledger_api()
        wallet = svc.get_wallet(a)
        assert (wallet["held"], wallet["available"], wallet["balance"]) == ("90.00", "10.00", "100.00")
        assert svc.reconcile().ok


def test_an_approval_racing_the_makers_own_spending(committing_app):
    (a,), (b,) = make_wallets(committing_app, 1, "100.00"), make_wallets(committing_app, 1, "1.00")
    with committing_app.app_context():
        rates.set_threshold("USD", "50.00", actor=ACTOR)
        waiting = ledger_api().transfer(a, b, "70.00", idempotency_key=key(), actor=MAKER).transaction
        assert waiting["status"] == "awaiting_approval"
    spent, refused = [], []

    def work(i):
        svc = ledger_api()
        if i == 0:
            svc.approve(waiting["id"], idempotency_key=key(), actor=CHECKER)
            return
        try:  # the maker tries to spend 10.00 fifteen times while the approval lands
            svc.transfer(a, b, "10.00", idempotency_key=key(), actor=MAKER)
            spent.append(i)
        except InsufficientFunds:
            refused.append(i)

    failures, _ = run_threads(committing_app, work, n=16)
    assert failures == [] and len(spent) == 3 and len(refused) == 12  # only the 30.00 not held
    with committing_app.app_context():
        svc = ledger_api()
        assert svc.get_transaction(waiting["id"])["status"] == "posted"
        assert (svc.get_wallet(a)["balance"], svc.get_wallet(b)["balance"]) == ("0.00", "101.00")
        assert svc.reconcile().ok
        rates.set_threshold("USD", None, actor=ACTOR)
