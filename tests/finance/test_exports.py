"""Finance exports: CSV content and filters, formula neutralising, streaming, balances as of a day."""

import csv
import io
import tracemalloc
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from wallet_app.extensions import db
from wallet_app.finance import exports
from wallet_app.models import AuditLog
from wallet_app.services.audit import Actor


def rows_of(response):
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


@pytest.fixture
def finance(login_as):
    return login_as("finance")


def test_history_csv_has_the_columns_amounts_and_a_named_file(client, finance, make_wallet, service, actor, session):
    a, b = make_wallet(balance="100.00", owner_name="Ada"), make_wallet("USD", owner_name="Bob")
    service.transfer(a["id"], b["id"], "12.50", idempotency_key=str(uuid.uuid4()), actor=actor, reference="rent")
    response = client.get(f"/finance/exports/history.csv?wallet_id={a['id']}&since=2020-01-01&until=2999-12-31")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"history-wallet-{a['id']}-2020-01-01_to_2999-12-31.csv" in response.headers["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header == exports.HISTORY_COLUMNS
    assert [(r[5], r[6], r[8], r[10], r[12]) for r in rows] == [
        ("fund", "100.00", "100.00", "", ""),
        ("transfer", "-12.50", "87.50", str(b["id"]), "rent"),
    ]
    assert rows[1][3] == "Ada" and rows[1][1].endswith("Z") and rows[1][13] == actor.name
    logged = session.scalars(select(AuditLog).where(AuditLog.action == "export")).all()
    assert logged and logged[-1].details["wallet_id"] == str(a["id"])


def test_history_csv_shows_fees_and_reversals(client, finance, make_wallet, service, actor):
    from wallet_app.ledger.fees import set_fee

    set_fee("USD", "transfer", fixed="0.30", actor=actor)
    a, b = make_wallet(balance="100.00"), make_wallet()
    tx = service.transfer(a["id"], b["id"], "10.00", idempotency_key=str(uuid.uuid4()), actor=actor).transaction
    back = service.reverse(
        tx["id"], amount="4.00", reason="oops", idempotency_key=str(uuid.uuid4()), actor=actor
    ).transaction
    header, *rows = rows_of(client.get(f"/finance/exports/history.csv?wallet_id={a['id']}"))
    assert [(r[5], r[6], r[7], r[9], r[11]) for r in rows] == [
        ("fund", "100.00", "", rows[0][9], ""),
        ("transfer", "-10.30", "0.30", str(tx["id"]), ""),
        ("reversal", "4.00", "", str(back["id"]), str(tx["id"])),
    ]
    assert rows[2][header.index("reason")] == "oops"  # issue 25, item 13


def test_history_csv_names_who_approved(client, finance, make_wallet, service, actor):
    """Issue 25, item 13: a movement that waited for a second person names them."""
    from tests.conftest import CHECKER
    from wallet_app.ledger import rates

    a, b = make_wallet(balance="100.00"), make_wallet()
    rates.set_threshold("USD", "20.00", actor=actor)
    asked = service.transfer(a["id"], b["id"], "30.00", idempotency_key=str(uuid.uuid4()), actor=actor).transaction
    service.approve(asked["id"], idempotency_key=str(uuid.uuid4()), actor=CHECKER)
    header, *rows = rows_of(client.get(f"/finance/exports/history.csv?wallet_id={a['id']}"))
    approvers = [(r[header.index("kind")], r[header.index("approved_by")]) for r in rows]
    assert ("transfer", CHECKER.name) in approvers


def test_filters_by_kind_currency_and_range(client, finance, make_wallet, service, actor):
    a, b = make_wallet(balance="100.00"), make_wallet()
    e = make_wallet("EUR", balance="5.00")
    service.transfer(a["id"], b["id"], "1.00", idempotency_key=str(uuid.uuid4()), actor=actor)
    kinds = {r[5] for r in rows_of(client.get("/finance/exports/history.csv?kind=transfer"))[1:]}
    assert kinds == {"transfer"}
    euros = rows_of(client.get("/finance/exports/history.csv?currency=EUR"))[1:]
    assert {r[2] for r in euros} == {str(e["id"])}
    future = rows_of(client.get(f"/finance/exports/history.csv?since={date.today() + timedelta(days=1)}"))
    assert future == [exports.HISTORY_COLUMNS]
    bad = client.get("/finance/exports/history.csv?since=2026-13-40")
    assert bad.status_code == 422 and "From: Use a date like 2026-11-24." in bad.get_data(as_text=True)


def test_an_export_takes_a_wallet_by_name_and_lists_several_to_pick(client, finance, make_wallet):
    """Issue 25, item 4: the wallet was an id only ("Enter a valid wallet id" for a name), and
    refusals printed field names ("wallet_id: ...")."""
    ada = make_wallet(balance="3.00", owner_name="Ada Lovelace", owner_email="ada@example.com")
    make_wallet(balance="4.00", owner_name="Ada King")
    one = rows_of(client.get("/finance/exports/history.csv?wallet=ada%40example.com"))[1:]
    assert {r[2] for r in one} == {str(ada["id"])}
    several = client.get("/finance/exports/history.csv?wallet=Ada&since=2026-01-01")
    html = several.get_data(as_text=True)
    assert several.status_code == 422 and "Several wallets match: pick one from the list." in html
    assert html.count('type="radio" name="wallet_id"') == 2 and "<strong>Ada King</strong>" in html
    assert 'value="Ada"' in html and 'value="2026-01-01"' in html  # what was typed stays
    missing = client.get("/finance/exports/history.csv?wallet=999999").get_data(as_text=True)
    assert "Wallet 999999 does not exist." in missing and "wallet_id" not in missing.split("<main")[1]


def test_formula_cells_are_neutralised(client, finance, make_wallet, service):
    evil = Actor("user:9", "=cmd|' /C calc'!A0")
    a = make_wallet(balance="10.00", owner_name='=HYPERLINK("http://evil.example")')
    b = make_wallet(owner_name="@SUM(1+1)")
    service.transfer(a["id"], b["id"], "1.00", idempotency_key="k1", actor=evil, reference="+1+1")
    rows = rows_of(client.get("/finance/exports/history.csv?kind=transfer"))[1:]
    for row in rows:
        assert row[3].startswith("'") and row[12] == "'+1+1" and row[13].startswith("'=")
    assert {r[6] for r in rows} == {"-1.00", "1.00"}  # our numbers stay numbers


def test_balances_as_of_a_day_match_an_independent_replay(client, finance, make_wallet, service, actor, session):
    a, b = make_wallet(balance="100.00"), make_wallet(balance="50.00")
    service.transfer(a["id"], b["id"], "30.00", idempotency_key=str(uuid.uuid4()), actor=actor)
    # Move yesterday's clock back: the first fund and the transfer happened "yesterday".
    yesterday = date.today() - timedelta(days=1)
    session.execute(text("UPDATE wallet_history SET created_at = created_at - interval '1 day'"))
    session.execute(text("UPDATE wallets SET created_at = created_at - interval '1 day'"))
    service.transfer(b["id"], a["id"], "5.00", idempotency_key=str(uuid.uuid4()), actor=actor)  # today
    expected = {}
    for wallet_id, amount, created_at in session.execute(
        text(
            "SELECT h.wallet_id, h.amount, h.created_at FROM wallet_history h JOIN wallets w ON w.id = h.wallet_id "
            "WHERE w.system_purpose IS NULL ORDER BY h.id"
        )
    ):
        if created_at.date() <= yesterday:
            expected[wallet_id] = expected.get(wallet_id, Decimal(0)) + amount
    response = client.get(f"/finance/exports/balances.csv?day={yesterday}")
    assert f"balances-as-of-{yesterday}.csv" in response.headers["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header == exports.BALANCE_COLUMNS
    got = {int(r[0]): Decimal(r[4]) for r in rows}
    assert got == {k: v for k, v in expected.items()} == {a["id"]: Decimal("70.00"), b["id"]: Decimal("80.00")}


def test_only_finance_and_admin_export(client, login_as):
    login_as("support")
    assert client.get("/finance/exports/history.csv").status_code == 403


def test_a_200000_row_export_streams_with_flat_memory(committing_app):
    with committing_app.app_context():
        first = db.session.execute(
            text(
                "INSERT INTO wallets (owner_name, currency, balance) "
                "VALUES ('Stream A', 'USD', 0), ('Stream B', 'USD', 0) RETURNING id"
            )
        ).first()[0]
        db.session.execute(
            text("""
            INSERT INTO transactions (id, kind, amount, currency, source_wallet_id, dest_wallet_id, created_by)
              SELECT g, 'fund', 1, 'USD', NULL, :first + g % 2, 'loader' FROM generate_series(1, 200000) g"""),
            {"first": first},
        )
        db.session.execute(
            text("""
            INSERT INTO wallet_history (wallet_id, transaction_id, amount, balance_after)
              SELECT :first + g % 2, g, 1, 1 FROM generate_series(1, 200000) g"""),
            {"first": first},
        )
        db.session.commit()
        tracemalloc.start()
        chunks, rows, biggest = 0, 0, 0
        for chunk in exports.stream_history(exports.HistoryFilter()):
            chunks += 1
            rows += chunk.count(b"\n")
            biggest = max(biggest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert rows == 200_001  # header + every row
    assert chunks > 1000 and biggest < 1_000_000  # many small blocks: streamed, not built whole
    assert peak < 50 * 1024 * 1024


def test_an_exchange_exports_each_leg_in_its_own_currency(client, finance, service, actor, make_wallet):
    from wallet_app.ledger import rates

    usd, eur = make_wallet("USD", balance="100.00"), make_wallet("EUR")
    rates.set_rate("USD", "EUR", "0.5", actor=actor)
    tx = service.transfer(usd["id"], eur["id"], "10.00", idempotency_key="fx-1", actor=actor).transaction
    header, row = rows_of(client.get(f"/finance/exports/history.csv?wallet_id={eur['id']}"))
    row = dict(zip(header, row))
    assert (row["currency"], row["amount"], row["kind"], row["rate"], row["transaction_id"]) == (
        "EUR",
        "5.00",
        "exchange",
        "0.5",
        str(tx["id"]),
    )
