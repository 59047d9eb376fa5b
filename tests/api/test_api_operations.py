"""The API for withdrawals, reversals, limits, status and fees: every status code it answers."""

import uuid

from tests.api.conftest import Api


def k():
    return str(uuid.uuid4())


def test_a_withdrawal_is_201_and_its_refusals_are_422_with_their_code(api, funded):
    a, _ = funded
    done = api.post(f"/wallets/{a}/withdrawals", {"amount": "30.00", "reference": "payout 1"}, key=k())
    assert done.status_code == 201 and done.json["kind"] == "withdrawal" and done.json["fee"] == "0.00"
    assert api.get(f"/wallets/{a}").json["balance"] == "70.00"
    for body, code, field in (
        ({"amount": "70.01"}, "insufficient_funds", "amount"),
        ({"amount": 5}, "invalid_amount", "amount"),
        ({"amount": "1.001"}, "invalid_amount", "amount"),
    ):
        refused = api.post(f"/wallets/{a}/withdrawals", body, key=k())
        assert (refused.status_code, refused.json["code"], refused.json["errors"][0]["field"]) == (422, code, field)
    assert api.post(f"/wallets/{a}/withdrawals", {"amount": "1.00"}).status_code == 400  # no Idempotency-Key
    assert api.post("/wallets/999999999/withdrawals", {"amount": "1.00"}, key=k()).status_code == 404


def test_reversals_201_then_422_codes_and_404(api, funded):
    a, b = funded
    tx = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "40.00"}, key=k()).json
    part = api.post(f"/transactions/{tx['id']}/reversals", {"amount": "10.00", "reason": "partly wrong"}, key=k())
    assert part.status_code == 201 and part.json["reverses_transaction_id"] == tx["id"]
    rest = api.post(f"/transactions/{tx['id']}/reversals", {"reason": "the rest"}, key=k())
    assert rest.status_code == 201 and rest.json["amount"] == "30.00"
    assert api.get(f"/transactions/{tx['id']}").json["reversed_amount"] == "40.00"
    for path, body, code in (
        (f"/transactions/{tx['id']}/reversals", {"amount": "0.01", "reason": "x"}, "reversal_exceeds_original"),
        (f"/transactions/{part.json['id']}/reversals", {"reason": "x"}, "not_reversible"),
        (f"/transactions/{tx['id']}/reversals", {"amount": "1.00"}, "invalid_input"),
    ):
        refused = api.post(path, body, key=k())
        assert (refused.status_code, refused.json["code"]) == (422, code), body
    assert api.post("/transactions/999999999/reversals", {"reason": "x"}, key=k()).status_code == 404


def test_limits_and_status_need_the_manage_scope(client, funded, make_token):
    a, b = funded
    _, writer = make_token("read,write")
    _, manager = make_token("read,write,manage")
    assert (
        Api(client, writer)
        .client.patch(
            f"/api/v1/wallets/{a}", json={"max_balance": "200.00"}, headers={"Authorization": f"Bearer {writer}"}
        )
        .status_code
        == 403
    )

    def patch(body):
        return client.patch(f"/api/v1/wallets/{a}", json=body, headers={"Authorization": f"Bearer {manager}"})

    limited = patch({"overdraft_limit": "50.00", "max_balance": "200.00", "daily_outflow_limit": "120.00"})
    assert limited.status_code == 200
    assert (limited.json["available"], limited.json["max_balance"]) == ("150.00", "200.00")
    api = Api(client, manager)
    over = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "120.01"}, key=k())
    assert (over.status_code, over.json["code"]) == (422, "daily_limit_exceeded")
    assert api.post(f"/wallets/{a}/fund", {"amount": "100.01"}, key=k()).json["code"] == "max_balance_exceeded"
    assert (patch({"max_balance": "99.99"}).status_code, patch({"max_balance": "99.99"}).json["code"]) == (
        422,
        "invalid_input",
    )
    frozen = patch({"status": "frozen", "reason": "fraud check"})
    assert frozen.status_code == 200 and frozen.json["status_reason"] == "fraud check"
    assert patch({"status": "active"}).json["errors"][0]["field"] == "reason"
    assert patch({"status": "closed", "reason": "bye"}).json["code"] == "balance_not_zero"
    assert patch({}).status_code == 422
    # Limits and status are one change: a refused close leaves the limits as they were.
    both = patch({"max_balance": "300.00", "status": "closed", "reason": "bye"})
    assert (both.status_code, both.json["code"]) == (422, "balance_not_zero")
    assert api.get(f"/wallets/{a}").json["max_balance"] == "200.00"
    assert (
        client.patch(
            "/api/v1/wallets/999999999",
            json={"status": "frozen", "reason": "x"},
            headers={"Authorization": f"Bearer {manager}"},
        ).status_code
        == 404
    )


def test_the_fee_schedule_is_listed_and_charged(api, funded, actor):
    from wallet_app.ledger.fees import set_fee

    set_fee("USD", "transfer", fixed="0.20", bps=50, actor=actor)
    listed = api.get("/fees")
    assert listed.status_code == 200 and listed.json["data"][0]["fixed"] == "0.20"
    a, b = funded
    tx = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "10.00"}, key=k()).json
    assert tx["fee"] == "0.25" and api.get(f"/wallets/{a}").json["balance"] == "89.75"
