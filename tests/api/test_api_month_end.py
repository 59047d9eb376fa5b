"""Month end over the API: a balance as of any moment (before the wallet existed, between two
legs of the same second, in the future), statements whose totals agree with the balances as of
their ends, as JSON, CSV and a PDF read back, and the trial balance."""

import csv
import io
import subprocess
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from wallet_app.models.types import utcnow
from wallet_app.services.serialize import iso


def k() -> str:
    return str(uuid.uuid4())


def field(answer) -> str | None:
    """The field a 422 problem names."""
    return (answer.json.get("errors") or [{}])[0].get("field")


def legs_of(session, wallet_id):
    """(created_at, amount, balance_after) of each leg, oldest first, as the database keeps them."""
    return session.execute(
        text("SELECT created_at, amount, balance_after FROM wallet_history WHERE wallet_id = :w ORDER BY id"),
        {"w": wallet_id},
    ).all()


@pytest.fixture
def moves(api, funded):
    """Alice: funded 100.00, then pays Bob 10.00, 20.00 and 30.00 (three legs each side)."""
    a, b = funded
    for amount in ("10.00", "20.00", "30.00"):
        posted = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": amount}, key=k())
        assert posted.status_code == 201, posted.json
    return a, b


def test_the_balance_as_of_each_leg_is_that_legs_balance_after(api, moves, session):
    a, _ = moves
    legs = legs_of(session, a)
    assert [leg.balance_after for leg in legs] == [Decimal("100"), Decimal("90"), Decimal("70"), Decimal("40")]
    for leg in legs:
        answer = api.get(f"/wallets/{a}/balance", query_string={"at": iso(leg.created_at)})
        assert answer.status_code == 200
        assert answer.json == {
            "wallet_id": a,
            "currency": "USD",
            "at": iso(leg.created_at),
            "balance": f"{leg.balance_after:.2f}",
        }


def test_between_two_legs_of_the_same_second_the_earlier_one_counts(api, moves, session):
    a, _ = moves
    first, second = legs_of(session, a)[1:3]
    assert first.created_at < second.created_at and (second.created_at - first.created_at) < timedelta(seconds=1)
    between = first.created_at + (second.created_at - first.created_at) / 2
    assert api.get(f"/wallets/{a}/balance", query_string={"at": iso(between)}).json["balance"] == "90.00"
    just_before = second.created_at - timedelta(microseconds=1)
    assert api.get(f"/wallets/{a}/balance", query_string={"at": iso(just_before)}).json["balance"] == "90.00"


def test_before_the_wallet_existed_its_balance_is_zero_and_the_future_is_refused(api, moves):
    a, _ = moves
    assert api.get(f"/wallets/{a}/balance", query_string={"at": "2001-01-01"}).json["balance"] == "0.00"
    future = api.get(f"/wallets/{a}/balance", query_string={"at": iso(utcnow() + timedelta(days=1))})
    assert future.status_code == 422 and field(future) == "at" and "not happened" in future.json["detail"]
    for bad in ("", "yesterday", "2026-13-01", "2026-11-30T25:00"):
        answer = api.get(f"/wallets/{a}/balance", query_string={"at": bad})
        assert answer.status_code == 422 and field(answer) == "at", bad
    assert api.get("/wallets/999999999/balance", query_string={"at": "2026-01-01"}).status_code == 404


def test_a_date_alone_is_its_midnight_and_an_offset_is_honoured(api, moves, session):
    a, _ = moves
    today = utcnow().date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    # Midnight at the start of today: before every leg of this test.
    assert api.get(f"/wallets/{a}/balance", query_string={"at": today.isoformat()}).json["balance"] == "0.00"
    # The same moment as now, written in another zone, is the current balance.
    now_in_tokyo = (utcnow() + timedelta(hours=9)).replace(tzinfo=None).isoformat() + "+09:00"
    assert api.get(f"/wallets/{a}/balance", query_string={"at": now_in_tokyo}).json["balance"] == "40.00"
    assert api.get(f"/wallets/{a}/balance", query_string={"at": tomorrow}).status_code == 422


def test_a_statements_totals_agree_with_the_balances_as_of_its_ends(api, moves, session):
    a, b = moves
    legs = legs_of(session, a)
    start, end = legs[1].created_at, legs[3].created_at  # the 10.00 and 20.00 payments; not the 30.00
    answer = api.get(f"/wallets/{a}/statement", query_string={"from": iso(start), "to": iso(end)})
    assert answer.status_code == 200
    s = answer.json
    opening = api.get(f"/wallets/{a}/balance", query_string={"at": iso(start - timedelta(microseconds=1))})
    closing = api.get(f"/wallets/{a}/balance", query_string={"at": iso(end - timedelta(microseconds=1))})
    assert (s["opening_balance"], s["closing_balance"]) == (opening.json["balance"], closing.json["balance"])
    assert (s["opening_balance"], s["total_in"], s["total_out"], s["closing_balance"]) == (
        "100.00",
        "0.00",
        "30.00",
        "70.00",
    )
    assert Decimal(s["opening_balance"]) + Decimal(s["total_in"]) - Decimal(s["total_out"]) == Decimal(
        s["closing_balance"]
    )
    assert [(m["amount"], m["balance_after"]) for m in s["movements"]] == [("-10.00", "90.00"), ("-20.00", "70.00")]
    assert s["movements"][0]["description"] == "Transfer to Bob" and s["movement_count"] == 2
    # Bob's side of the same period: money in.
    bob = api.get(f"/wallets/{b}/statement", query_string={"from": iso(start), "to": iso(end)}).json
    assert (bob["opening_balance"], bob["total_in"], bob["total_out"], bob["closing_balance"]) == (
        "0.00",
        "30.00",
        "0.00",
        "30.00",
    )


def test_a_statement_pages_its_movements_oldest_first(api, moves):
    a, _ = moves
    period = {"from": "2000-01-01", "to": iso(utcnow())}
    first = api.get(f"/wallets/{a}/statement", query_string={**period, "limit": 3}).json
    assert [m["amount"] for m in first["movements"]] == ["100.00", "-10.00", "-20.00"] and first["next_cursor"]
    rest = api.get(f"/wallets/{a}/statement", query_string={**period, "limit": 3, "cursor": first["next_cursor"]})
    assert [m["amount"] for m in rest.json["movements"]] == ["-30.00"] and rest.json["next_cursor"] is None
    assert first["movement_count"] == 4 and first["closing_balance"] == "40.00"


def test_a_statement_names_the_field_at_fault(api, moves):
    a, _ = moves
    for query, name in (
        ({"to": "2026-01-01"}, "from"),
        ({"from": "2026-01-01"}, "to"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
        ({"from": "2026-01-01", "to": "2026-01-01"}, "to"),
        ({"from": iso(utcnow() + timedelta(days=2)), "to": iso(utcnow() + timedelta(days=3))}, "from"),
        ({"from": "2026-01-01", "to": "2026-02-01", "limit": "0"}, "limit"),
        ({"from": "2026-01-01", "to": "2026-02-01", "cursor": "x"}, "cursor"),
    ):
        answer = api.get(f"/wallets/{a}/statement", query_string=query)
        assert answer.status_code == 422 and field(answer) == name, (query, answer.json)
    assert api.get(f"/wallets/{a}/statement.csv", query_string={"from": "x", "to": "2026-01-01"}).status_code == 422
    assert field(api.get(f"/wallets/{a}/statement.pdf", query_string={"from": "2026-01-01"})) == "to"


def test_the_statement_csv_opens_and_closes_with_the_balances(api, moves):
    a, _ = moves
    answer = api.get(f"/wallets/{a}/statement.csv", query_string={"from": "2000-01-01", "to": iso(utcnow())})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert f"statement-{a}-2000-01-01_to_" in answer.headers["Content-Disposition"]
    header, *rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert header[:3] == ["entry_id", "created_at", "kind"]
    assert [(r[2], r[7], r[8]) for r in rows] == [
        ("opening_balance", "", "0.00"),
        ("fund", "100.00", "100.00"),
        ("transfer", "-10.00", "90.00"),
        ("transfer", "-20.00", "70.00"),
        ("transfer", "-30.00", "40.00"),
        ("closing_balance", "", "40.00"),
    ]


def test_the_statement_pdf_reads_back_with_owner_period_balances_movements_and_pages(api, moves, tmp_path):
    a, _ = moves
    answer = api.get(f"/wallets/{a}/statement.pdf", query_string={"from": "2000-01-01", "to": "2100-01-01"})
    # a period ending in the future is this period so far
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF-")
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(answer.data)
    words = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for expected in (
        "Statement",
        "Alice",
        f"{a} (USD)",
        "01 Jan 2000 to 31 Dec 2099 inclusive",
        "Opening balance",
        "Closing balance",
        "Transfer to Bob",
        "-30.00",
        "40.00",
        "page 1 of 1",
    ):
        assert expected in words, expected


def test_the_trial_balance_sums_to_zero_per_currency_as_of_any_moment(api, moves, session):
    a, _ = moves
    legs = legs_of(session, a)
    now = api.get("/trial-balance", query_string={"at": iso(utcnow())}).json
    usd = next(c for c in now["currencies"] if c["currency"] == "USD")
    assert usd["balanced"] and Decimal(usd["sum"]) == 0
    lines = {line["label"]: line for line in usd["lines"]}
    assert Decimal(lines["Customer wallets"]["balance"]) >= Decimal("100.00")
    # Between the fund and the first payment, customers held 100.00 more than before the fund.
    before_fund = api.get("/trial-balance", query_string={"at": iso(legs[0].created_at - timedelta(microseconds=1))})
    after_fund = api.get("/trial-balance", query_string={"at": iso(legs[0].created_at)})
    customers = lambda answer: Decimal(  # noqa: E731
        next(c for c in answer.json["currencies"] if c["currency"] == "USD")["lines"][0]["balance"]
    )
    assert customers(after_fund) - customers(before_fund) == Decimal("100.00")
    assert field(api.get("/trial-balance", query_string={"at": "soon"})) == "at"
