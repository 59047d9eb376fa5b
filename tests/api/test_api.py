"""JSON API v1: every endpoint, error code and status of docs/DESIGN.md, "JSON API"."""

import uuid

import pytest


def key():
    return str(uuid.uuid4())


def test_create_get_and_list_wallets(api):
    created = api.post(
        "/wallets", {"owner_name": "Ada", "currency": "EUR", "owner_email": "ada@example.com", "external_ref": "C-9"}
    )
    assert created.status_code == 201
    wallet = created.json
    assert wallet["balance"] == "0.00" and wallet["status"] == "active" and wallet["currency"] == "EUR"
    assert api.get(f"/wallets/{wallet['id']}").json == wallet
    listed = api.get("/wallets?q=ada&limit=1")
    assert listed.status_code == 200 and listed.json["data"][0]["id"] == wallet["id"]


def test_cursor_pagination_walks_every_wallet_once(api):
    ids = {api.post("/wallets", {"owner_name": f"P{i}", "currency": "USD"}).json["id"] for i in range(5)}
    seen, cursor = [], ""
    while True:
        page = api.get(f"/wallets?limit=2&cursor={cursor}").json
        seen += [w["id"] for w in page["data"]]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert ids <= set(seen) and len(seen) == len(set(seen))


def test_fund_transfer_history_and_transaction(api, funded):
    a, b = funded
    moved = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "30.50", "reference": "invoice 7"}, key=key()
    )
    assert moved.status_code == 201 and "Idempotent-Replayed" not in moved.headers
    tx = moved.json
    assert tx["amount"] == "30.50" and tx["kind"] == "transfer" and tx["reference"] == "invoice 7"
    assert api.get(f"/transactions/{tx['id']}").json == tx
    assert api.get(f"/wallets/{a}").json["balance"] == "69.50"
    history = api.get(f"/wallets/{a}/history?limit=1").json
    entry = history["data"][0]
    assert (entry["amount"], entry["balance_after"], entry["counterparty_wallet_id"]) == ("-30.50", "69.50", b)
    assert history["next_cursor"]
    older = api.get(f"/wallets/{a}/history?cursor={history['next_cursor']}").json
    assert [e["kind"] for e in older["data"]] == ["fund"] and older["next_cursor"] is None
    assert api.get(f"/wallets/{a}/history?since=2999-01-01T00:00:00Z").json["data"] == []
    assert len(api.get(f"/wallets/{a}/history?until=2999-01-01T00:00:00Z").json["data"]) == 2


def test_replay_mismatched_replay_and_missing_key(api, funded):
    a, b = funded
    body = {"from_wallet_id": a, "to_wallet_id": b, "amount": "10.00"}
    first = api.post("/transfers", body, key="same-key")
    again = api.post("/transfers", body, key="same-key")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    other = api.post("/transfers", {**body, "amount": "11.00"}, key="same-key")
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    missing = api.post("/transfers", body)
    assert missing.status_code == 400 and missing.json["code"] == "idempotency_key_required"
    assert api.get(f"/wallets/{a}").json["balance"] == "90.00"


@pytest.mark.parametrize(
    "body,status,code,field",
    [
        ({"amount": 10.5}, 422, "invalid_amount", "amount"),
        ({"amount": "1.001"}, 422, "invalid_amount", "amount"),
        ({"amount": "-1"}, 422, "invalid_amount", "amount"),
        ({"amount": "1000"}, 422, "insufficient_funds", "amount"),
        ({"to_wallet_id": "self"}, 422, "same_wallet", "to_wallet_id"),
        ({"to_wallet_id": 10**15}, 404, "not_found", "to_wallet_id"),
        ({"to_wallet_id": "x"}, 422, "invalid_input", "to_wallet_id"),
        ({"extra": 1}, 422, "invalid_input", "extra"),
    ],
)
def test_transfer_errors_are_problem_json_with_code_and_field(api, funded, body, status, code, field):
    a, b = funded
    payload = {"from_wallet_id": a, "to_wallet_id": b, "amount": "1.00", **body}
    if payload["to_wallet_id"] == "self":
        payload["to_wallet_id"] = a
    response = api.post("/transfers", payload, key=key())
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = response.json
    assert problem["code"] == code and problem["status"] == status
    assert {"type", "title", "detail"} <= set(problem)
    assert problem["errors"][0]["field"] == field
    assert api.get(f"/wallets/{a}").json["balance"] == "100.00"


def test_currency_mismatch_and_frozen_wallet(api, funded, service, actor):
    a, b = funded
    eur = api.post("/wallets", {"owner_name": "E", "currency": "EUR"}).json["id"]
    mismatch = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": eur, "amount": "1.00"}, key=key())
    assert mismatch.status_code == 422 and mismatch.json["code"] == "currency_mismatch"
    service.set_status(b, "frozen", actor=actor, reason="test")
    frozen = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "1.00"}, key=key())
    assert frozen.status_code == 422 and frozen.json["code"] == "wallet_not_active"


def test_malformed_bodies(api, funded, client):
    a, _ = funded
    headers = {"Authorization": f"Bearer {api.secret}", "Idempotency-Key": key()}
    truncated = client.post(
        f"/api/v1/wallets/{a}/fund", data='{"amount": "1', headers=headers, content_type="application/json"
    )
    assert truncated.status_code == 400 and truncated.json["code"] == "malformed_body"
    not_json = client.post(
        f"/api/v1/wallets/{a}/fund", data="amount=1", headers=headers, content_type="application/x-www-form-urlencoded"
    )
    assert not_json.status_code == 415
    array = client.post(f"/api/v1/wallets/{a}/fund", json=["1.00"], headers=headers)
    assert array.status_code == 400
    huge = client.post(
        f"/api/v1/wallets/{a}/fund", data="{" + " " * 70_000 + "}", headers=headers, content_type="application/json"
    )
    assert huge.status_code == 413 and huge.mimetype == "application/problem+json"


def test_not_found(api):
    assert api.get("/wallets/999999999").status_code == 404
    assert api.get("/transactions/999999999").json["code"] == "not_found"
    assert api.get("/wallets/999999999/history").status_code == 404


def test_tokens_authenticate_and_scope(api, client, make_token):
    assert client.get("/api/v1/wallets").status_code == 401
    assert client.get("/api/v1/wallets", headers={"Authorization": "Bearer nope"}).status_code == 401
    _, read_only = make_token("read")
    assert api.get("/wallets", secret=read_only).status_code == 200
    refused = api.post("/wallets", {"owner_name": "X", "currency": "USD"}, secret=read_only)
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"


def test_a_revoked_token_is_refused_at_once(api, make_token):
    from wallet_app.services.audit import Actor
    from wallet_app.services.tokens import revoke_token

    token, secret = make_token("read")
    assert api.get("/wallets", secret=secret).status_code == 200
    revoke_token(token["id"], actor=Actor("cli", "cli"))
    assert api.get("/wallets", secret=secret).status_code == 401


def test_openapi_document_lists_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served


def test_history_csv_for_read_tokens(api, funded, make_token):
    a, _ = funded
    _, read_only = make_token("read")
    response = api.get(f"/wallets/{a}/history.csv?kind=fund", secret=read_only)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("entry_id,created_at,wallet_id") and len(lines) == 2 and ",100.00," in lines[1]
    assert api.get("/wallets/999999999/history.csv").status_code == 404
