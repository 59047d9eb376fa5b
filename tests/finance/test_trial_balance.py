"""The trial balance on the finance pages: every wallet's balance as of a moment, per currency,
system wallets included, summing to zero; its CSV lists every wallet; a bad moment is named."""

import csv
import io
import uuid
from decimal import Decimal

from sqlalchemy import text


def test_the_trial_balance_page_and_csv_as_of_a_moment(client, login_as, make_wallet, service, actor, session):
    login_as("finance")
    bob = make_wallet(owner_name="Bob")  # opened before Ada's funding: in the trial balance as of it
    ada = make_wallet(balance="250.00", owner_name="Ada")
    service.transfer(ada["id"], bob["id"], "50.00", idempotency_key=str(uuid.uuid4()), actor=actor)
    funded_at = session.scalar(
        text("SELECT max(created_at) FROM wallet_history WHERE wallet_id = :w AND amount > 0"), {"w": ada["id"]}
    )
    page = client.get("/finance/trial-balance")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sum (must be 0)" in html and "Does not sum to zero" not in html
    assert "Customer wallets" in html and "Money in and out of the ledger" in html

    at = funded_at.isoformat()  # after the funding, before the transfer
    response = client.get("/finance/trial-balance.csv", query_string={"at": at})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    by_id = {int(r["wallet_id"]): r for r in rows}
    assert by_id[ada["id"]]["balance"] == "250.00" and by_id[bob["id"]]["balance"] == "0.00"
    for currency in {r["currency"] for r in rows}:
        assert sum(Decimal(r["balance"]) for r in rows if r["currency"] == currency) == 0, currency
    assert any(r["system_purpose"] == "world" for r in rows)

    bad = client.get("/finance/trial-balance", query_string={"at": "next tuesday"})
    assert bad.status_code == 422 and 'id="tb-at-error"' in bad.get_data(as_text=True)
    assert client.get("/finance/trial-balance.csv", query_string={"at": "2999-01-01"}).status_code == 422


def test_support_cannot_see_the_trial_balance(client, login_as):
    login_as("support")
    assert client.get("/finance/trial-balance").status_code == 403
    assert client.get("/finance/trial-balance.csv").status_code == 403
