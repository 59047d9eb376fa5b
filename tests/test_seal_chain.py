"""The seal chain: history sealed after commit, never past a transaction still running, and
every quiet edit found (a leg, a transaction's amount, a deleted leg, a link removed), by
`flask verify-chain` and by reconcile; the worker seals as it goes."""

import threading
import uuid

import pytest
from sqlalchemy import text

from wallet_app.events import worker
from wallet_app.extensions import db
from wallet_app.finance.reconcile import reconcile
from wallet_app.ledger import operations, seals
from wallet_app.services.audit import Actor

CLI = Actor("cli", "cli")


def k() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def ledger(committing_app):
    """A committed ledger: Ada funded 500.00, paying Bob three times (one with a fee)."""
    with committing_app.app_context():
        ada = operations.create_wallet("Ada", "USD", actor=CLI)
        bob = operations.create_wallet("Bob", "USD", actor=CLI)
        operations.fund(ada["id"], "500.00", idempotency_key=k(), actor=CLI)
        for amount in ("10.00", "20.00", "30.00"):
            operations.transfer(ada["id"], bob["id"], amount, idempotency_key=k(), actor=CLI)
        db.session.remove()
    return committing_app, ada, bob


def run(app, sql: str, **params):
    with app.app_context():
        db.session.execute(text(sql), params)
        db.session.commit()
        db.session.remove()


def test_sealing_covers_every_posted_leg_and_the_chain_verifies(ledger):
    app, ada, bob = ledger
    runner = app.test_cli_runner()
    sealed = runner.invoke(args=["seal"])
    assert sealed.exit_code == 0 and "Sealed 4 links" in sealed.output, sealed.output
    with app.app_context():
        lag = seals.lag()
        legs = db.session.scalar(text("SELECT count(*) FROM wallet_history"))
        assert lag.unsealed_legs == 0 and lag.links == 4 and lag.sealed_upto >= legs == 8
        assert seals.breaks() == []
        report = reconcile(db.session)
        assert report.ok and report.seal["links"] == 4
        db.session.remove()
    verified = runner.invoke(args=["verify-chain"])
    assert verified.exit_code == 0 and "The chain holds: 4 links" in verified.output, verified.output
    # More movements: the next seal extends the chain from its head.
    with app.app_context():
        operations.transfer(ada["id"], bob["id"], "1.00", idempotency_key=k(), actor=CLI)
        assert seals.seal_all() == 1 and seals.lag().links == 5 and seals.breaks() == []
        db.session.remove()


@pytest.mark.parametrize(
    "tamper, problem",
    [
        (
            "UPDATE wallet_history SET amount = amount + 1, balance_after = balance_after + 1 WHERE id = "
            "(SELECT min(id) FROM wallet_history WHERE transaction_id = :tx)",
            "legs differ",
        ),
        ("UPDATE transactions SET amount = amount * 10 WHERE id = :tx", "legs differ"),
        (
            "DELETE FROM wallet_history WHERE id = (SELECT max(id) FROM wallet_history WHERE transaction_id = :tx)",
            "legs differ",
        ),
        ("DELETE FROM ledger_seals WHERE transaction_id = :tx", "a link before it is missing"),
    ],
    ids=["leg-edited", "amount-edited", "leg-deleted", "link-deleted"],
)
def test_every_quiet_edit_is_the_first_broken_link(ledger, tamper, problem):
    app, ada, bob = ledger
    with app.app_context():
        seals.seal_all()
        # the second transfer (20.00): the third link
        tx = db.session.scalar(text("SELECT id FROM transactions WHERE amount = 20 AND kind = 'transfer'"))
        link = db.session.scalar(text("SELECT seq FROM ledger_seals WHERE transaction_id = :tx"), {"tx": tx})
        db.session.remove()
    run(app, tamper, tx=tx)
    result = app.test_cli_runner().invoke(args=["verify-chain"])
    assert result.exit_code == 1, result.output
    first = result.output.splitlines()[0]
    assert "BROKEN" in first and problem in first, result.output
    expected = f"link {link + 1}" if problem.startswith("a link before") else f"link {link} (transaction {tx})"
    assert expected in first, result.output
    with app.app_context():
        check = next(c for c in reconcile(db.session).checks if c.name == "seal_chain")
        assert not check.passed and problem in check.mismatches[0]
        db.session.remove()


def test_a_transaction_still_running_holds_sealing_back_until_it_ends(ledger):
    """A movement that drew its leg id before the sequence was read but commits after: sealing
    waits for it rather than passing it by (its leg would then never be sealed)."""
    app, ada, bob = ledger
    with app.app_context():
        cy = operations.create_wallet("Cy", "USD", actor=CLI)  # the slow one's: no lock the transfer needs
        seals.seal_all()
        before = seals.lag()
        engine = db.engine
        db.session.remove()
    slow = engine.connect()
    tx = slow.begin()
    slow.execute(
        text(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, response_status, operation) "
            "VALUES ('test', :k, 'fp', 201, 'post')"
        ),
        {"k": k()},
    )  # as a movement claims first
    tx_id = slow.scalar(
        text(
            "INSERT INTO transactions (kind, amount, currency, created_by, dest_wallet_id) "
            "VALUES ('fund', 5, 'USD', 'test', :w) RETURNING id"
        ),
        {"w": cy["id"]},
    )
    slow.execute(
        text("INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after) VALUES (:w, :tx, 5, 5)"),
        {"w": cy["id"], "tx": tx_id},
    )
    with app.app_context():
        operations.transfer(ada["id"], bob["id"], "2.00", idempotency_key=k(), actor=CLI)  # commits after it
        for _ in range(3):
            seals.seal()
        held = seals.lag()
        assert held.sealed_upto == before.sealed_upto and held.unsealed_legs == 2  # the committed transfer waits
        db.session.remove()
    tx.commit()
    slow.close()
    with app.app_context():
        seals.seal_all()
        after = seals.lag()
        assert after.unsealed_legs == 0 and after.links == before.links + 2 and seals.breaks() == []
        db.session.remove()


def test_the_worker_seals_as_it_goes(ledger):
    app, ada, bob = ledger
    app.config["WORKER_SEAL_EVERY_S"] = 0
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(app,), kwargs={"stop": stop})
    thread.start()
    try:
        with app.app_context():
            for _ in range(200):
                if seals.lag().unsealed_legs == 0:
                    break
                stop.wait(0.05)
            assert seals.lag().unsealed_legs == 0 and seals.lag().links == 4
            db.session.remove()
    finally:
        stop.set()
        thread.join(10)
