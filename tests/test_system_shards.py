"""No hot system row (issue 26): each system wallet split into shards, movements spread over
them by their paying wallet, a fee returned from the very row it was paid to, reconcile and
the dashboard adding the shards up as one wallet."""

import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from wallet_app.errors import InvalidInput
from wallet_app.extensions import db
from wallet_app.ledger import batches, fees, operations
from wallet_app.services import stats


def k():
    return str(uuid.uuid4())


def test_shards_spread_fees_and_funding_and_add_up_as_one_wallet(make_wallet, service, actor, session):
    assert operations.set_system_shards(4, actor=actor) == 4
    rows = session.execute(
        text(
            "SELECT system_purpose, count(*) FROM wallets WHERE currency = 'USD' AND system_purpose IS NOT NULL "
            "GROUP BY 1"
        )
    ).all()
    assert {purpose: n for purpose, n in rows} == {"world": 4, "fees": 4, "fx": 4, "adjustments": 4}
    fees.set_fee("USD", "transfer", fixed="1.00", actor=actor)
    payers = [make_wallet(balance="50.00", owner_name=f"Payer {i}") for i in range(12)]
    payee = make_wallet(owner_name="Payee")
    paid = [
        service.transfer(p["id"], payee["id"], "10.00", idempotency_key=k(), actor=actor).transaction for p in payers
    ]
    shards = session.execute(
        text("SELECT shard, balance FROM wallets WHERE system_purpose = 'fees' AND currency = 'USD' ORDER BY shard")
    ).all()
    assert sum(b for _, b in shards) == Decimal("12.00") and sum(1 for _, b in shards if b > 0) >= 2  # spread
    fundings = session.execute(
        text("SELECT count(*) FROM wallets WHERE system_purpose = 'world' AND currency = 'USD' AND balance <> 0")
    ).scalar()
    assert fundings >= 2
    # A wallet's movements keep to one shard; a fee goes back from the row it was paid to, even
    # once the number of shards has changed.
    fee_row = {e["wallet_id"] for e in paid[0]["entries"] if e["system"] == "fees"}
    operations.set_system_shards(7, actor=actor)
    back = service.reverse(paid[0]["id"], reason="wrong", refund_fee=True, idempotency_key=k(), actor=actor)
    assert {e["wallet_id"] for e in back.transaction["entries"] if e["system"] == "fees"} == fee_row
    operations.set_system_shards(2, actor=actor)  # fewer: the rows past it keep their money
    assert service.reconcile().ok
    figures = stats.dashboard()
    usd_fees = [w for w in figures["system"] if w["currency"] == "USD" and w["purpose"] == "fees"]
    assert usd_fees == [{"currency": "USD", "purpose": "fees", "balance": "11.00"}]


def test_the_number_of_shards_is_checked(actor, session):
    for bad in (0, 1025, "4", True):
        with pytest.raises(InvalidInput):
            operations.set_system_shards(bad, actor=actor)
    # The CHECK, the last line of defence, agrees with the service: 1,024 at most.
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(text("UPDATE ledger_settings SET system_shards = 1025"))
    with session.begin_nested():
        session.execute(text("UPDATE ledger_settings SET system_shards = 1024"))


def test_a_batch_over_sharded_system_wallets_posts_and_reconciles(make_wallet, service, actor):
    """A batch locks the system rows its items' shards use, with its wallets, before any item."""
    operations.set_system_shards(5, actor=actor)
    fees.set_fee("USD", "withdrawal", fixed="0.25", actor=actor)
    payers = [make_wallet(balance="20.00", owner_name=f"P{i}") for i in range(6)]
    items = [{"kind": "withdrawal", "from_wallet_id": p["id"], "amount": "5.00"} for p in payers]
    items += [{"kind": "fund", "to_wallet_id": p["id"], "amount": "1.00"} for p in payers]
    done = batches.post(items, mode="atomic", idempotency_key=k(), actor=actor)
    assert done.batch["status"] == "posted"
    assert {service.get_wallet(p["id"])["balance"] for p in payers} == {"15.75"}
    assert service.reconcile().ok


def test_a_new_connections_batches_find_the_system_rows_by_their_unique_index(committing_app, actor):
    """With many shards and statistics that count them, the planner's custom plan for shard 0
    (every customer wallet's shard as well) chose to scan every wallet of the currency for a
    system row: 54-66 ms a lookup on 100,000 wallets, in each connection's first five. The
    engine's entry points plan generically, and no lookup reads ix_wallets_currency."""
    with committing_app.app_context():
        operations.set_system_shards(1024, actor=actor)
        operations.set_system_shards(1, actor=actor)  # every movement's system rows are shard 0
        db.session.execute(
            text(
                "INSERT INTO wallets (owner_name, currency, balance) "
                "SELECT 'Owner ' || g, 'USD', 100 FROM generate_series(1, 100000) g"
            )
        )
        db.session.commit()
        db.session.execute(text("ANALYZE wallets"))
        db.session.commit()
        payers = (
            db.session.execute(text("SELECT id FROM wallets WHERE system_purpose IS NULL ORDER BY id LIMIT 14"))
            .scalars()
            .all()
        )
        for engine in db.engines.values():
            engine.dispose()  # a new connection: its plans are made afresh

        def scans() -> dict:
            db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
            found = dict(db.session.execute(text("SELECT indexrelname, idx_scan FROM pg_stat_user_indexes")).all())
            db.session.commit()
            return found

        before = scans()
        items = [
            {"kind": "transfer", "from_wallet_id": payers[i], "to_wallet_id": payers[i + 7], "amount": "1.00"}
            for i in range(7)
        ]
        done = batches.post(items, mode="independent", idempotency_key=k(), actor=actor)
        assert [i["status"] for i in done.batch["items"]] == ["posted"] * 7
        for engine in db.engines.values():
            engine.dispose()  # its backends end, and their statistics reach the server
        deadline = time.monotonic() + 10
        while scans()["uq_wallets_system_purpose_currency"] == before["uq_wallets_system_purpose_currency"]:
            assert time.monotonic() < deadline, "the batch's index statistics never arrived"
            time.sleep(0.1)
        assert scans()["ix_wallets_currency"] == before["ix_wallets_currency"]
