"""Hostile input through the API: every field refused with a 4xx naming it, nothing written;
every money movement audited with who, what and from where."""

import pytest
from sqlalchemy import func, select, text

from tests.hostile import BAD_AMOUNT_VALUES, BAD_AMOUNTS, BAD_IDS, BAD_KEYS, HOSTILE_NAMES
from wallet_app.models import AuditLog


def ledger(session):
    return session.execute(
        text(
            "SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM wallet_history), "
            "(SELECT count(*) FROM idempotency_keys), (SELECT coalesce(sum(balance), 0) FROM wallets)"
        )
    ).one()


def test_every_transfer_field_refuses_hostile_values(api, funded, session):
    a, b = funded
    before = ledger(session)
    cases = [({"amount": v}, "amount") for v in BAD_AMOUNTS + BAD_AMOUNT_VALUES]
    cases += [({"from_wallet_id": v}, "from_wallet_id") for v in BAD_IDS]
    cases += [({"to_wallet_id": v}, "to_wallet_id") for v in BAD_IDS]
    for override, field in cases:
        response = api.post(
            "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "1.00", **override}, key="hostile-" + field
        )
        assert 400 <= response.status_code < 500, (override, response.status_code)
        assert response.json["errors"][0]["field"] == field, (override, response.json)
    for key in BAD_KEYS:
        try:
            response = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "1.00"}, key=key)
        except ValueError:
            continue  # the HTTP client itself refuses to send control characters in a header
        assert 400 <= response.status_code < 500 and response.json["code"] in (
            "invalid_input",
            "idempotency_key_required",
        ), key
    assert ledger(session) == before


@pytest.mark.parametrize(
    "path", ["/wallets/-1", "/wallets/abc", f"/wallets/{2**64}", "/transactions/0", "/wallets/1e3/history"]
)
def test_hostile_ids_in_paths_are_4xx(api, path):
    response = api.get(path)
    assert 400 <= response.status_code < 500 and response.mimetype == "application/problem+json"


def test_wallet_fields_refuse_hostile_values_and_keep_hostile_names_verbatim(api, session):
    before = session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "wallet.create"))
    for body, field in [
        ({"owner_name": "", "currency": "USD"}, "owner_name"),
        ({"owner_name": "x" * 201, "currency": "USD"}, "owner_name"),
        ({"owner_name": "ok", "currency": "XXX"}, "currency"),
        ({"owner_name": "ok", "currency": 840}, "currency"),
        ({"owner_name": ["x"], "currency": "USD"}, "owner_name"),
        ({"owner_name": "ok", "currency": "USD", "owner_email": "nope"}, "owner_email"),
    ]:
        response = api.post("/wallets", body)
        assert response.status_code == 422 and response.json["errors"][0]["field"] == field, body
    assert (
        session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "wallet.create")) == before
    )
    for name in HOSTILE_NAMES:
        wallet = api.post("/wallets", {"owner_name": name, "currency": "USD"}).json
        assert api.get(f"/wallets/{wallet['id']}").json["owner_name"] == name


def test_fund_and_transfer_are_audited_with_who_what_and_where(api, funded, session):
    a, b = funded
    tx = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "2.00"}, key="audited").json
    row = session.scalars(
        select(AuditLog).where(AuditLog.action == "transfer", AuditLog.object_id == str(tx["id"]))
    ).one()
    assert row.actor.startswith("token:") and row.ip == "127.0.0.1" and row.created_at is not None
    assert row.details["amount"] == "2.00" and row.details["source_wallet_id"] == a
    assert session.scalars(select(AuditLog).where(AuditLog.action == "fund")).first() is not None
