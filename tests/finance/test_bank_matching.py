"""Issue 28, matching the bank's statement: a ledger made through the services and a CSV
statement generated from it; each rule, duplicates on a second upload, a malformed line
(nothing imported), breaks on both sides, and resolution by link and by adjustment."""

import csv
import io

import pytest
from sqlalchemy import text

from tests.conftest import CHECKER
from tests.finance.bankfixtures import audit, counts, day, fund, k, statement, withdraw
from wallet_app.errors import CurrencyMismatch, InvalidInput, InvalidStatement
from wallet_app.finance import bank, bank_csv, bank_resolve
from wallet_app.ledger import operations
from wallet_app.services.audit import Actor

FINANCE = Actor("user:finance", "finance@example.com", "127.0.0.1")


@pytest.fixture
def wallet(make_wallet):
    return make_wallet(balance="5000.00", owner_name="Ada")


def upload(text, **kw):
    return bank.import_statement("USD", text, actor=FINANCE, **kw)


def test_a_line_matches_the_movement_with_its_reference_whatever_its_case(session, wallet, actor):
    tx = fund(wallet["id"], "25.00", actor, reference="INV-1")
    out = withdraw(wallet["id"], "7.00", actor, reference="PAYOUT-7")
    answer = upload(statement(("B1", day(), "25.00", "inv-1", "deposit"), ("B2", day(), "-7.00", "PAYOUT-7", "")))
    assert (answer["lines"], answer["matched"], answer["duplicates"]) == (2, 2, 0)
    assert answer["unmatched_statement"] == []
    ids = {t["transaction_id"] for t in answer["unmatched_ledger"]}
    assert tx["id"] not in ids and out["id"] not in ids
    rules = session.execute(text("SELECT rule FROM bank_matches")).scalars().all()
    assert rules == ["reference", "reference"]


def test_a_reference_with_another_amount_is_not_a_match(wallet, actor):
    fund(wallet["id"], "25.00", actor, reference="INV-2")
    answer = upload(statement(("B1", day(), "26.00", "INV-2", "")))
    assert answer["matched"] == 0 and answer["unmatched_statement"][0]["amount"] == "26.00"


def test_without_a_reference_the_same_amount_within_the_tolerance_matches(wallet, actor):
    tx = fund(wallet["id"], "100.00", actor)
    assert upload(statement(("B1", day(), "100.03", "", "")))["matched"] == 0  # tolerance 0 by default
    answer = upload(statement(("B2", day(), "100.03", "", "")), tolerance="0.05")
    assert answer["matched"] == 1 and tx["id"] not in [t["transaction_id"] for t in answer["unmatched_ledger"]]


@pytest.mark.parametrize(
    "offset, window, matched", [(2, None, 1), (-2, None, 1), (3, None, 0), (3, "3", 1), (1, "0", 0)]
)
def test_the_date_window_decides_how_far_apart_the_days_may_be(wallet, actor, offset, window, matched):
    fund(wallet["id"], "12.34", actor)
    answer = upload(statement((f"B{offset}", day(offset), "12.34", "", "")), window_days=window)
    assert answer["matched"] == matched
    assert answer["unmatched_statement_count"] == 1 - matched


def test_one_line_matches_several_movements_with_its_reference_that_sum_to_it(session, wallet, actor):
    parts = [fund(wallet["id"], a, actor, reference="SETTLE-9") for a in ("30.00", "45.50", "24.50")]
    answer = upload(statement(("B1", day(), "100.00", "SETTLE-9", "card settlement")))
    assert answer["matched"] == 1
    matched = session.execute(text("SELECT transaction_id FROM bank_matches ORDER BY 1")).scalars().all()
    assert matched == sorted(p["id"] for p in parts)


def test_many_alike_lines_pair_one_to_one_with_many_alike_movements(wallet, actor):
    txs = [fund(wallet["id"], "10.00", actor) for _ in range(12)]
    lines = [(f"B{i}", day(), "10.00", "", "") for i in range(10)]
    answer = upload(statement(*lines))
    assert answer["matched"] == 10
    assert len([t for t in answer["unmatched_ledger"] if t["transaction_id"] in {t["id"] for t in txs}]) == 2


def test_a_movement_matches_at_most_one_line(wallet, actor):
    fund(wallet["id"], "50.00", actor)
    answer = upload(statement(("B1", day(), "50.00", "", ""), ("B2", day(), "50.00", "", "")))
    assert answer["matched"] == 1 and answer["unmatched_statement_count"] == 1
    assert upload(statement(("B3", day(), "50.00", "", "")))["matched"] == 0  # matched already, by B1


def test_uploading_again_imports_nothing_twice(session, wallet, actor):
    fund(wallet["id"], "5.00", actor)
    csv_text = statement(
        ("B1", day(), "5.00", "", ""), ("", day(), "-3.00", "FEE", "no id"), ("", day(), "8.00", "", "")
    )
    first = upload(csv_text)
    assert (first["lines"], first["imported"], first["duplicates"]) == (3, 3, 0)
    again = upload(csv_text + f"B9,{day()},1.00,,new\n")
    assert (again["lines"], again["imported"], again["duplicates"], again["matched"]) == (4, 1, 3, 0)
    assert counts(session)["bank_lines"] == 4


def test_a_malformed_line_is_named_and_nothing_of_the_file_is_imported(session, wallet, actor):
    fund(wallet["id"], "5.00", actor)
    before = counts(session)
    bad = statement(
        ("B1", day(), "5.00", "", ""), ("B2", "31/12/2026", "1.00", "", ""), ("B3", day(), '"1,50"', "", "")
    )
    with pytest.raises(InvalidStatement) as refused:
        upload(bad)
    errors = refused.value.details["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(3, "date"), (4, "amount")]
    assert refused.value.message.startswith("Line 3, column date:")
    for csv_text, where in [
        (statement(("B1", day(), "0.00", "", "")), (2, "amount")),
        (statement(("B1", day(), "1.001", "", "")), (2, "amount")),
        ("id,date,amount\nB1,2026-01-01,1.00\n", (1, "reference")),
        (statement(("B1", day()), ("B2", day(), "1.00", "", "")), (2, "amount")),
        (statement(), (1, "")),
    ]:
        with pytest.raises(InvalidStatement) as refused:
            upload(csv_text)
        first = refused.value.details["errors"][0]
        assert (first["line"], first["column"]) == where, csv_text
    assert counts(session) == before


def test_breaks_on_both_sides_are_listed_and_exported(session, wallet, actor):
    matched = fund(wallet["id"], "20.00", actor, reference="A")
    missing = withdraw(wallet["id"], "9.00", actor)  # the bank never paid it
    answer = upload(statement(("B1", day(), "20.00", "A", ""), ("B2", day(), "-4.00", "", "=cmd()")))
    assert [line["bank_id"] for line in answer["unmatched_statement"]] == ["B2"]
    ledger = {t["transaction_id"]: t for t in answer["unmatched_ledger"]}
    assert missing["id"] in ledger and matched["id"] not in ledger and ledger[missing["id"]]["kind"] == "withdrawal"
    rows = list(csv.DictReader(io.StringIO(b"".join(bank_resolve.breaks_csv(answer["id"])).decode())))
    assert [(r["side"], r["amount"]) for r in rows if r["side"] == "statement"] == [("statement", "-4.00")]
    assert rows[0]["description"] == "'=cmd()"  # the bank's text never runs as a formula
    assert ("ledger", "-9.00", str(missing["id"])) in [(r["side"], r["amount"], r["transaction_id"]) for r in rows]


def test_a_saved_layout_is_used_again_by_name(session, wallet, actor):
    fund(wallet["id"], "42.00", actor, reference="X-1")
    layout = bank_csv.layout_from(
        {"id_column": "Txn", "date_column": "Value date", "amount_column": "Amount", "reference_column": "Ref",
         "date_format": "DD/MM/YYYY"}
    )  # fmt: skip
    dmy = "/".join(reversed(day().split("-")))
    csv_text = f"Txn,Value date,Amount,Ref\nT1,{dmy},42.00,X-1\n"
    first = upload(csv_text, layout=layout, save_layout="Acme Bank")
    assert first["matched"] == 1 and first["layout"] == "Acme Bank"
    again = upload(csv_text.replace("T1", "T2"), layout="Acme Bank")
    assert again["layout"] == "Acme Bank" and again["imported"] == 1
    assert [d["name"] if "name" in d else o for o, d in audit(session, "statement.layout")] == ["Acme Bank"]
    with pytest.raises(InvalidInput) as refused:
        upload(csv_text, layout="Nobody's Bank")
    assert refused.value.field == "layout"


def test_a_break_is_resolved_by_linking_it_by_hand(session, wallet, actor):
    a = fund(wallet["id"], "60.00", actor, reference="P1")
    b = fund(wallet["id"], "40.00", actor, reference="P2")
    out = withdraw(wallet["id"], "1.00", actor)
    answer = upload(statement(("B1", day(), "100.00", "LUMP", "")))
    line = answer["unmatched_statement"][0]
    for ids, message in [
        ([out["id"]], "is a withdrawal"),
        ([a["id"]], "add up to 60.00"),
        ([a["id"], a["id"]], "Each transaction once"),
        ("", "Name the transaction ids"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            bank_resolve.link(answer["id"], line["line_id"], ids, actor=FINANCE)
        assert refused.value.field == "transaction_ids" and message in refused.value.message
    done = bank_resolve.link(answer["id"], line["line_id"], f"{a['id']}, {b['id']}", actor=FINANCE)
    assert done["status"] == "matched"
    now = bank.summary(answer["id"])
    assert now["matched"] == 1 and now["unmatched_statement"] == []
    assert [d["transactions"] for _, d in audit(session, "statement.link")] == [[a["id"], b["id"]]]
    with pytest.raises(InvalidInput) as refused:
        bank_resolve.link(answer["id"], line["line_id"], [out["id"]], actor=FINANCE)
    assert "already matched" in refused.value.message


@pytest.mark.parametrize("decision, cleared", [("approve", True), ("reject", False)])
def test_a_break_is_cleared_by_an_adjustment_once_a_second_person_posts_it(
    session, make_wallet, wallet, decision, cleared
):
    eve = make_wallet("EUR")
    answer = upload(statement(("B1", day(), "-15.00", "", "bank charge")))
    line = answer["unmatched_statement"][0]
    with pytest.raises(CurrencyMismatch):
        bank_resolve.adjust(answer["id"], line["line_id"], eve["id"], "charge", idempotency_key=k(), actor=FINANCE)
    key = k()
    asked = bank_resolve.adjust(
        answer["id"], line["line_id"], wallet["id"], "bank charge", idempotency_key=key, actor=FINANCE
    )
    tx = asked["adjustment"]
    assert tx["status"] == "awaiting_approval" and tx["reason"].startswith(f"Statement {answer['id']}, line 2:")
    waiting = bank.summary(answer["id"])["unmatched_statement"][0]
    assert (waiting["status"], waiting["adjustment_id"]) == ("awaiting_approval", tx["id"])
    with pytest.raises(InvalidInput):  # one adjustment at a time
        bank_resolve.adjust(answer["id"], line["line_id"], wallet["id"], "again", idempotency_key=k(), actor=FINANCE)
    if decision == "approve":
        operations.approve(tx["id"], idempotency_key=k(), actor=CHECKER)
    else:
        operations.reject(tx["id"], reason="wrong wallet", idempotency_key=k(), actor=CHECKER)
    now = bank.summary(answer["id"])
    assert now["matched"] == (1 if cleared else 0)
    assert [line["status"] for line in now["unmatched_statement"]] == ([] if cleared else ["open"])
    assert [d["transaction"] for _, d in audit(session, "statement.adjust")] == [tx["id"]]
    assert operations.get_wallet(wallet["id"])["balance"] == ("4985.00" if cleared else "5000.00")
