"""POST /reconciliations (a statement as text/csv, scope manage), GET one, the list, and the
breaks as CSV: every endpoint, and each code it answers."""

import pytest

from tests.api.conftest import Api
from tests.finance.bankfixtures import day, fund, statement


@pytest.fixture
def manager(client, make_token):
    return Api(client, make_token("read,manage")[1])


def send(api, body, query="?currency=USD", content_type="text/csv", **kw):
    return api.client.post(
        "/api/v1/reconciliations" + query,
        data=body,
        headers={"Authorization": f"Bearer {api.secret}", "Content-Type": content_type},
        **kw,
    )


def test_a_statement_is_matched_and_answered_201(manager, make_wallet, actor):
    wallet = make_wallet(balance="100.00")
    tx = fund(wallet["id"], "25.00", actor, reference="INV-9")
    answer = send(manager, statement(("B1", day(), "25.00", "INV-9", ""), ("B2", day(), "-3.00", "", "charge")))
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert {k: body[k] for k in ("lines", "matched", "duplicates")} == {"lines": 2, "matched": 1, "duplicates": 0}
    assert [line["amount"] for line in body["unmatched_statement"]] == ["-3.00"]
    assert tx["id"] not in [t["transaction_id"] for t in body["unmatched_ledger"]]
    again = send(manager, statement(("B1", day(), "25.00", "INV-9", "")))
    assert (again.status_code, again.json["duplicates"], again.json["lines"]) == (201, 1, 1)

    one = manager.get(f"/reconciliations/{body['id']}")
    assert one.status_code == 200 and one.json["unmatched_statement_count"] == 1
    listed = manager.get("/reconciliations?limit=1")
    assert listed.json["data"][0]["id"] == again.json["id"] and listed.json["next_cursor"] == str(again.json["id"])
    older = manager.get(f"/reconciliations?cursor={listed.json['next_cursor']}").json["data"]
    assert [r["id"] for r in older] == [body["id"]] and older[0]["open_breaks"] == 1
    breaks = manager.get(f"/reconciliations/{body['id']}/breaks.csv")
    assert breaks.status_code == 200 and breaks.mimetype == "text/csv"
    assert breaks.get_data(as_text=True).splitlines()[1].startswith("statement,open,3,B2,")


def test_a_mapped_layout_is_saved_and_used_by_name(manager):
    text = "Ref,Booked,Value\nR1,31.12.2026,-1.00\n"
    query = "?currency=USD&date_column=Booked&amount_column=Value&reference_column=Ref&date_format=DD.MM.YYYY"
    first = send(manager, text, query + "&save_layout=Giro")
    assert first.status_code == 201 and first.json["layout"] == "Giro"
    assert send(manager, text.replace("R1", "R2"), "?currency=USD&layout=Giro").json["imported"] == 1


@pytest.mark.parametrize("scopes", ["read", "read,write"])
def test_uploading_needs_the_manage_scope(client, make_token, scopes):
    api = Api(client, make_token(scopes)[1])
    answer = send(api, statement(("B1", day(), "1.00", "", "")))
    assert (answer.status_code, answer.json["code"]) == (403, "forbidden")


def test_reading_needs_the_read_scope(client, make_token, manager):
    rec = send(manager, statement(("B1", day(), "1.00", "", ""))).json
    api = Api(client, make_token("manage")[1])
    assert api.get(f"/reconciliations/{rec['id']}").status_code == 403
    assert api.get(f"/reconciliations/{rec['id']}/breaks.csv").status_code == 403


def test_a_malformed_line_answers_422_naming_line_and_column(manager):
    answer = send(manager, statement(("B1", day(), "1.00", "", ""), ("B2", "tomorrow", "1.00", "", "")))
    assert (answer.status_code, answer.json["code"]) == (422, "invalid_statement")
    assert [(e["line"], e["column"]) for e in answer.json["errors"]] == [(3, "date")]
    assert manager.get("/reconciliations").json["data"] == []


@pytest.mark.parametrize(
    "query, field",
    [("", "currency"), ("?currency=XXX", "currency"), ("?currency=USD&window_days=40", "window_days"),
     ("?currency=USD&tolerance=-1", "tolerance"), ("?currency=USD&layout=Nope", "layout"),
     ("?currency=USD&date_format=YY", "date_format")],
)  # fmt: skip
def test_bad_parameters_answer_422_naming_them(manager, query, field):
    answer = send(manager, statement(("B1", day(), "1.00", "", "")), query)
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == field


def test_the_body_must_be_csv_utf8_and_not_too_large(manager, app, monkeypatch):
    assert send(manager, '{"a": 1}', content_type="application/json").status_code == 415
    bad = send(manager, b"id,date,amount,reference,description\nB1,2026-01-01,1.00,\xff,\n")
    assert (bad.status_code, bad.json["code"]) == (422, "invalid_statement")
    monkeypatch.setitem(app.config, "STATEMENT_MAX_CONTENT_LENGTH", 40)
    large = send(manager, statement(("B1", day(), "1.00", "", "a long description")))
    assert (large.status_code, large.json["code"]) == (413, "payload_too_large")


def test_an_unknown_reconciliation_is_404(manager):
    for path in ("/reconciliations/999999", "/reconciliations/999999/breaks.csv"):
        answer = manager.get(path)
        assert (answer.status_code, answer.json["code"]) == (404, "not_found")
    assert manager.get("/reconciliations/abc").status_code == 422
