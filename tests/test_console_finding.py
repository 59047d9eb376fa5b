"""Finding things and reading them: names next to ids, the header search, the recipient's
active search, history filters with their errors beside them, the statement, the formats."""

import csv
import io
import re
import uuid
from decimal import Decimal

import pytest

from tests.conftest import csrf_from, form_data
from wallet_app.formatting import money, plural, when

HX = {"HX-Request": "true"}


@pytest.fixture
def pair(make_wallet, service, actor):
    ada = make_wallet(
        balance="1234567.50", owner_name="Ada Lovelace", owner_email="ada@example.com", external_ref="CUST-1"
    )
    grace = make_wallet(owner_name="Grace Hopper", owner_email="grace@example.com")
    tx = service.transfer(
        ada["id"], grace["id"], "2500.00", idempotency_key=str(uuid.uuid4()), actor=actor, reference="INV-2026-17"
    ).transaction
    return ada, grace, tx


def test_amounts_plurals_and_dates_have_one_format():
    assert money("1234567.5", "USD") == "1,234,567.50 USD"
    assert money(Decimal("-12"), "JPY") == "-12 JPY" and money("0.5", "KWD", unit=False) == "0.500"
    assert money("5", "EUR", sign=True) == "+5.00 EUR" and money(None, "USD") == ""
    assert plural(1, "wallet") == "1 wallet" and plural(0, "wallet") == "0 wallets"
    assert plural(1200, "entry", "entries") == "1,200 entries"
    assert when("2026-11-25T13:40:59.123456Z") == "2026-11-25 13:40 UTC"


def test_history_names_the_counterparty_and_shows_separators(client, login_as, pair):
    login_as("viewer")
    ada, grace, tx = pair
    html = client.get(f"/wallets/{ada['id']}").get_data(as_text=True)
    assert f'Grace Hopper <span class="wid">#{grace["id"]}</span>' in html
    assert "1,232,067.50" in html and "-2,500.00" in html  # balance after, and the debit
    assert "Amount (USD)" in html and "Balance (USD)" in html


def test_transaction_page_names_who_legs_and_links(client, login_as, pair, service, actor):
    login_as("support")
    ada, grace, tx = pair
    reversal = service.reverse(
        tx["id"], amount="100.00", reason="typo", idempotency_key=str(uuid.uuid4()), actor=actor
    ).transaction
    html = client.get(f"/transactions/{tx['id']}").get_data(as_text=True)
    assert "Made by</dt><dd>tester@example.com" in html
    assert f'Ada Lovelace <span class="wid">#{ada["id"]}</span>' in html and "Grace Hopper" in html
    assert f"Reversal #{reversal['id']}" in html and "Reversed by" in html  # linked transactions
    assert "Reverse this transfer" in html  # the action that applies
    back = client.get(f"/transactions/{reversal['id']}").get_data(as_text=True)
    assert f"Transfer #{tx['id']}" in back and "cannot be reversed" in back


def test_header_search_goes_to_the_one_match_or_lists_several(client, login_as, pair):
    login_as("viewer")
    ada, grace, tx = pair
    one = client.get("/search?q=grace@example")
    assert one.status_code == 303 and one.location.endswith(f"/wallets/{grace['id']}")
    by_reference = client.get("/search?q=INV-2026")
    assert by_reference.status_code == 303 and by_reference.location.endswith(f"/transactions/{tx['id']}")
    several = client.get("/search?q=example.com").get_data(as_text=True)
    assert "2 wallets" in several and "0 transactions" in several
    nothing = client.get("/search?q=zzz-nobody").get_data(as_text=True)
    assert "0 wallets" in nothing and "0 transactions" in nothing
    assert client.get("/search?q=").status_code == 422


def test_recipient_search_lists_wallets_to_pick_without_the_sender(client, login_as, pair):
    login_as("support")
    ada, grace, tx = pair
    html = client.get(f"/wallets/{ada['id']}/recipients?recipient=example.com", headers=HX).get_data(as_text=True)
    assert f'value="{grace["id"]}"' in html and f'value="{ada["id"]}"' not in html
    assert "Grace Hopper" in html and "USD" in html and "active" in html
    assert "checked" in html  # the only candidate is picked already


def test_transfer_typed_by_name_without_picking(client, login_as, pair):
    """Without JavaScript the typed name is enough when it names one wallet; else the error
    sits next to the recipient field."""
    login_as("support")
    ada, grace, tx = pair
    page = client.get(f"/wallets/{ada['id']}").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_from(page), "idempotency_key": key, "recipient": "Grace", "amount": "1.00"}
    review = client.post(f"/wallets/{ada['id']}/transfer/confirm", data=data, headers=HX).get_data(as_text=True)
    assert "Confirm transfer" in review and f'name="to_wallet_id" value="{grace["id"]}"' in review
    refused = client.post(
        f"/wallets/{ada['id']}/transfer/confirm", data={**data, "recipient": "nobody-here"}, headers=HX
    )
    assert refused.status_code == 422
    assert re.search(
        r'id="transfer-to-error"><p class="error" role="alert">No wallet matches this', refused.get_data(as_text=True)
    )


def test_a_name_matching_several_wallets_lists_them_and_a_refusal_keeps_the_pick(client, login_as, make_wallet):
    """Issue 25, item 8: "pick one from the list" came with no list without JavaScript, and
    after any refused review the pick shrank to "Wallet #21"."""
    payer = make_wallet(balance="100.00", owner_name="Payer")
    sam, other = make_wallet(owner_name="Sam Carter"), make_wallet(owner_name="Sam Carter-Jones")
    login_as("support")
    url = f"/wallets/{payer['id']}/transfer/confirm"
    page = client.get(f"/wallets/{payer['id']}").get_data(as_text=True)
    data = form_data(page, url) | {"recipient": "Sam", "amount": "5.00"}
    refused = client.post(url, data=data)  # without JavaScript: a whole page
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "<html" in html and "Several wallets match: pick one from the list." in html
    radios = re.findall(r'name="to_wallet_id" value="(\d+)"\s*(checked)?>\s*<span><strong>([^<]+)</strong>', html)
    assert sorted(radios) == sorted([(str(sam["id"]), "", "Sam Carter"), (str(other["id"]), "", "Sam Carter-Jones")])
    review = client.post(url, data=data | {"to_wallet_id": str(other["id"])})
    assert review.status_code == 200 and "Confirm transfer" in review.get_data(as_text=True)
    too_much = client.post(url, data=data | {"to_wallet_id": str(other["id"]), "amount": "500.00"}, headers=HX)
    html = too_much.get_data(as_text=True)
    assert too_much.status_code == 422 and f"Wallet #{other['id']}" not in html
    assert re.search(rf'value="{other["id"]}"\s*checked>\s*<span><strong>Sam Carter-Jones</strong>', html)


@pytest.mark.parametrize(
    "query, shown, hidden",
    [
        ("kind=fund", ["+1,234,567.50"], ["-2,500.00"]),
        ("min_amount=2000&max_amount=3000", ["-2,500.00"], ["+1,234,567.50"]),
        ("reference=inv-2026", ["-2,500.00"], ["+1,234,567.50"]),
    ],
)
def test_history_filters(client, login_as, pair, query, shown, hidden):
    login_as("viewer")
    ada = pair[0]
    html = client.get(f"/wallets/{ada['id']}/history?{query}", headers=HX).get_data(as_text=True)
    assert all(s in html for s in shown) and not any(h in html for h in hidden)


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("since=2026-11-20&until=2026-11-10", "until", "From is after To"),
        ("min_amount=abc", "min_amount", "Amount must be a number"),
        ("min_amount=10&max_amount=5", "max_amount", "The largest amount is below the smallest"),
        ("kind=nope", "kind", "Unknown kind"),
    ],
)
def test_a_bad_filter_is_an_error_next_to_its_field(client, login_as, pair, query, field, message):
    login_as("viewer")
    ada = pair[0]
    for headers in (HX, {}):  # the fragment for htmx, the whole page without it
        response = client.get(f"/wallets/{ada['id']}/history?{query}", headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert re.search(rf'id="h-{field}-error"><p class="error" role="alert">{message}', html), html[-3000:]
        assert "No movements" not in html


def test_the_statement_page_csv_and_pdf_are_for_every_reader(client, login_as, pair, session):
    login_as("viewer")
    ada, grace, tx = pair
    page = client.get(f"/wallets/{ada['id']}/statement?since=2000-01-01")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Opening balance" in html and "Money out" in html
    assert "Transfer to Grace" in html and "01 Jan 2000 to " in html
    response = client.get(f"/wallets/{ada['id']}/statement.csv?since=2000-01-01")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["kind"] for r in rows] == ["opening_balance", "fund", "transfer", "closing_balance"]
    assert rows[-1]["balance_after"] == rows[-2]["balance_after"]
    assert f"statement-wallet-{ada['id']}-2000-01-01_to_" in response.headers["Content-Disposition"]
    pdf = client.get(f"/wallets/{ada['id']}/statement.pdf?since=2000-01-01")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    for url in ("statement", "statement.csv", "statement.pdf"):
        bad = client.get(f"/wallets/{ada['id']}/{url}?since=2026-11-20&until=2026-11-01")
        assert bad.status_code == 422 and 'id="statement-until-error"' in bad.get_data(as_text=True), url
    future = client.get(f"/wallets/{ada['id']}/statement?since=2999-01-01&until=2999-01-31")
    assert future.status_code == 422 and 'id="statement-since-error"' in future.get_data(as_text=True)


def test_dashboard_shows_totals_for_customer_and_system_wallets(client, login_as, pair):
    login_as("finance")
    html = client.get("/").get_data(as_text=True)
    assert "Customer wallets" in html and "Fees wallet" in html and "World wallet" in html
    assert "-1,234,567.50" in html  # the USD world wallet: minus what entered the ledger
    assert "<title>" in html and "Figures" in html  # hover titles and the table beside the chart
    assert 'Ada Lovelace <span class="wid">' in html


def test_creating_a_wallet_says_so(client, login_as, csrf):
    login_as("support")
    response = client.post(
        "/wallets", data={"csrf_token": csrf(), "owner_name": "New Person", "currency": "EUR"}, follow_redirects=True
    )
    assert "created for New Person (EUR)" in response.get_data(as_text=True)
