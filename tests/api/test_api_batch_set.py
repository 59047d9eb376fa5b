"""A batch's set path (ledger_batch_run.sql) decides as posting its items one by one does
(issue 26): the same refusal at the same item, for every rule a leg can break, on balances,
limits and days that the batch's own earlier items changed; the same balances after."""

import uuid

import pytest
from sqlalchemy import text

from tests.conftest import ledger_api
from wallet_app.ledger import fees
from wallet_app.services.audit import Actor

ADMIN = Actor("user:admin", "admin@example.com")
MISSING = 10**12


def k():
    return str(uuid.uuid4())


def world(api, svc):
    """One of two identical worlds: A 100.00, B with room for 50.00, C, F frozen, E in euros,
    L 100.00 that may pay 30.00 a day (USD unless said)."""
    ids = {}
    for name in "ABCFEL":
        ids[name] = api.post("/wallets", {"owner_name": name, "currency": "EUR" if name == "E" else "USD"}).json["id"]
    for name in "AL":
        assert api.post(f"/wallets/{ids[name]}/fund", {"amount": "100.00"}, key=k()).status_code == 201
    svc.update_wallet(ids["B"], actor=ADMIN, max_balance="50.00")
    svc.update_wallet(ids["L"], actor=ADMIN, daily_outflow_limit="30.00")
    svc.update_wallet(ids["F"], actor=ADMIN, status="frozen", reason="checks")
    return ids


def item(ids, kind, src, dst, amount):
    body = {"kind": kind, "amount": amount}
    if src:
        body["from_wallet_id"] = ids.get(src, MISSING)
    if dst:
        body["to_wallet_id"] = ids.get(dst, MISSING)
    return body


def one_by_one(api, ids, items):
    """Each item as its own request: its status, and its code when refused."""
    out = []
    for it in items:
        body = {f: v for f, v in it.items() if f != "kind"}
        if it["kind"] == "transfer":
            answer = api.post("/transfers", body, key=k())
        else:
            wallet = body.pop("from_wallet_id", None) or body.pop("to_wallet_id")
            answer = api.post(f"/wallets/{wallet}/{'fund' if it['kind'] == 'fund' else 'withdrawals'}", body, key=k())
        assert answer.status_code in (201, 404, 422), answer.json
        out.append(("posted", None) if answer.status_code == 201 else ("refused", answer.json["code"]))
    return out


# Each the first refusal of its batch at item 2 or later, by what the items before it did.
CASES = {
    "insufficient_funds": [
        ("transfer", "A", "C", "60.00"),
        ("transfer", "A", "C", "30.00"),
        ("transfer", "A", "C", "20.00"),
        ("transfer", "A", "C", "10.00"),
    ],
    "max_balance_exceeded": [
        ("transfer", "A", "B", "30.00"),
        ("transfer", "A", "B", "15.00"),
        ("transfer", "A", "B", "10.00"),
        ("transfer", "A", "B", "5.00"),
    ],
    "daily_limit_exceeded": [
        ("transfer", "L", "C", "20.00"),
        ("withdrawal", "L", None, "5.00"),
        ("transfer", "L", "C", "10.00"),
        ("transfer", "L", "C", "5.00"),
    ],
    "wallet_not_active": [
        ("transfer", "A", "C", "1.00"),
        ("transfer", "C", "A", "0.50"),
        ("transfer", "A", "F", "1.00"),
        ("transfer", "A", "C", "1.00"),
    ],
    "currency_mismatch": [
        ("fund", None, "C", "1.00"),
        ("transfer", "C", "A", "1.00"),
        ("transfer", "A", "E", "1.00"),
        ("transfer", "A", "C", "1.00"),
    ],
    "not_found": [
        ("transfer", "A", "C", "1.00"),
        ("transfer", "A", "C", "1.00"),
        ("transfer", "A", "nobody", "1.00"),
        ("transfer", "A", "C", "1.00"),
    ],
    "same_wallet": [
        ("transfer", "A", "C", "1.00"),
        ("withdrawal", "A", None, "1.00"),
        ("transfer", "C", "C", "1.00"),
        ("transfer", "C", "A", "0.50"),
    ],
    "with_fees": [
        ("transfer", "A", "C", "49.50"),
        ("transfer", "A", "C", "49.00"),
        ("transfer", "A", "C", "0.01"),
        ("withdrawal", "A", None, "0.01"),
        ("fund", None, "A", "5.00"),
        ("transfer", "A", "C", "4.49"),
    ],
    "withdrawals_and_funds": [
        ("fund", None, "C", "5.00"),
        ("withdrawal", "C", None, "3.00"),
        ("withdrawal", "C", None, "3.00"),
        ("withdrawal", "C", None, "2.00"),
    ],
}


@pytest.mark.parametrize("case", CASES)
def test_the_set_path_decides_as_one_by_one(api, session, case):
    svc = ledger_api()
    if case == "with_fees":
        fees.set_fee("USD", "transfer", fixed="0.50", actor=ADMIN)
    batched, single = world(api, svc), world(api, svc)
    spec = CASES[case]
    expected = one_by_one(api, single, [item(single, *s) for s in spec])
    first_code = "insufficient_funds" if case in ("with_fees", "withdrawals_and_funds") else case
    assert next(code for _, code in expected if code) == first_code
    assert expected[2][0] == "refused" and expected[0] == expected[1] == ("posted", None)
    answer = api.post("/batches", {"mode": "independent", "items": [item(batched, *s) for s in spec]}, key=k())
    assert answer.status_code == 201, answer.json
    got = [(i["status"], i.get("error", {}).get("code")) for i in answer.json["items"]]
    assert got == expected
    balance = lambda ids: {n: api.get(f"/wallets/{i}").json["balance"] for n, i in ids.items()}  # noqa: E731
    assert balance(batched) == balance(single)
    # Each posted item's customer entries carry the balances the one-by-one path left.
    after = lambda tx: [e["balance_after"] for e in tx["entries"] if e["system"] is None]  # noqa: E731
    singles = (
        session.execute(
            text(
                "SELECT id FROM transactions WHERE source_wallet_id = ANY(:w) OR dest_wallet_id = ANY(:w) ORDER BY id"
            ),
            {"w": [i for n, i in single.items() if n in "ABCL"]},
        )
        .scalars()
        .all()
    )
    single_after = [after(api.get(f"/transactions/{t}").json) for t in singles][-sum(s == "posted" for s, _ in got) :]
    assert [after(i["transaction"]) for i in answer.json["items"] if "transaction" in i] == single_after

    # The same audit details and the same four-eyes counts (ledger_write and ledger_write_set).
    def details(ids):
        return (
            session.execute(
                text(
                    "SELECT details::jsonb - 'source_wallet_id' - 'dest_wallet_id' FROM audit_log "
                    "WHERE object_type = 'transaction' AND object_id = ANY(:ids) ORDER BY object_id::bigint"
                ),
                {"ids": [str(i) for i in ids]},
            )
            .scalars()
            .all()
        )

    batch_posted = [i["transaction"]["id"] for i in answer.json["items"] if "transaction" in i]
    assert batch_posted and details(batch_posted) == details(singles[-len(batch_posted) :])
    flows = lambda ids: sorted(  # noqa: E731
        (name, inflow, str(amount))
        for name, wallet in ids.items()
        for inflow, amount in session.execute(
            text("SELECT inflow, sum(amount) FROM wallet_flows WHERE wallet_id = :w GROUP BY inflow"), {"w": wallet}
        )
    )
    assert flows(batched) == flows(single)
    assert svc.reconcile().ok
