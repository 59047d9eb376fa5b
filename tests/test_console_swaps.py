"""The console's steps as htmx fragments and as whole pages: cancel, live search, unique ids,
focus, hidden-field errors and every form URL answering a full page without JavaScript."""

import re

import pytest

from tests.browser.ids import duplicate_ids
from tests.conftest import csrf_from, form_data

HX = {"HX-Request": "true"}


@pytest.fixture
def support(login_as):
    return login_as("support")


def keys_in(html: str) -> list[str]:
    return re.findall(r'name="idempotency_key" type="hidden" value="([^"]*)"', html)


def form_of(client, wallet_id, kind="transfer"):
    """csrf and the idempotency key of `kind`'s form on the wallet page."""
    html = client.get(f"/wallets/{wallet_id}").get_data(as_text=True)
    key = re.search(rf'id="{kind}-key" name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)
    return csrf_from(html), key


def post(client, wallet_id, kind, step, data, htmx=True):
    url = f"/wallets/{wallet_id}/{kind}" + ("/confirm" if step == "confirm" else "")
    return client.post(url, data=data, headers=HX if htmx else {})


def alerts(html: str) -> list[str]:
    """The visible error messages: text of elements with role="alert"."""
    return [re.sub(r"<[^>]+>", "", m).strip() for m in re.findall(r'role="alert"[^>]*>(.*?)</', html, re.S)]


# 1. Cancel returns the panel to its form, with what was typed


@pytest.mark.parametrize("kind", ["fund", "transfer"])
def test_cancel_on_review_gets_the_form_back_as_typed(client, support, make_wallet, kind):
    """Issue 25, item 11: Cancel (and Escape, which clicks it) went back to an empty form."""
    a, b = make_wallet(balance="100.00", owner_name="Ada Source"), make_wallet(owner_name="Bea Payee")
    csrf, key = form_of(client, a["id"], kind)
    typed = {"csrf_token": csrf, "idempotency_key": key, "to_wallet_id": b["id"], "amount": "5.00", "reference": "rent"}
    if kind == "transfer":
        typed["recipient"] = "Bea"
    review = post(client, a["id"], kind, "confirm", typed).get_data(as_text=True)
    cancel = re.search(r"<button [^>]*data-cancel[^>]*>", review).group(0)
    edit = f"/wallets/{a['id']}/{kind}/edit"
    assert f'hx-post="{edit}"' in cancel and f'formaction="{edit}"' in cancel and f'hx-target="#{kind}-panel"' in cancel
    back = client.post(edit, data=form_data(review, f"/wallets/{a['id']}/{kind}"), headers=HX)
    html = back.get_data(as_text=True)
    assert back.status_code == 200 and html.lstrip().startswith(f'<div id="{kind}-panel"') and "<nav" not in html
    assert 'value="5.00"' in html and 'value="rent"' in html and "Confirm" not in html
    assert keys_in(html) == [key]  # the same token: a movement confirmed already is answered once
    if kind == "transfer":  # the search and the pick, by name
        assert 'value="Bea"' in html
        assert re.search(rf'value="{b["id"]}"\s+checked>\s*<span><strong>Bea Payee</strong>', html)
    whole = client.post(edit, data=form_data(review, f"/wallets/{a['id']}/{kind}"))  # without JavaScript
    assert "<html" in whole.get_data(as_text=True) and 'value="5.00"' in whole.get_data(as_text=True)


def test_the_form_url_answers_the_wallet_page_without_htmx(client, support, make_wallet):
    a = make_wallet()
    html = client.get(f"/wallets/{a['id']}/fund").get_data(as_text=True)
    assert "<html" in html and "<nav" in html and 'id="fund-panel"' in html and 'id="balance"' in html


# 2. Live search replaces the results box instead of nesting it


def test_live_search_swaps_the_results_box_whole(client, support, make_wallet):
    make_wallet(owner_name="Zed Search")
    page = client.get("/wallets").get_data(as_text=True)
    search = re.search(r'<form class="filters"[^>]*>', page, re.S).group(0)
    assert 'hx-target="#results"' in search and 'hx-swap="outerHTML"' in search
    fragment = client.get("/wallets?q=Zed", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="results"') and fragment.count('id="results"') == 1


# 3. No page holds an id twice


def test_no_console_page_or_step_holds_an_id_twice(client, support, make_wallet):
    a, b = make_wallet(balance="100.00"), make_wallet()
    csrf, key = form_of(client, a["id"])
    move = {"csrf_token": csrf, "idempotency_key": key, "to_wallet_id": b["id"], "amount": "5.00"}
    pages = {
        "wallets": client.get("/wallets"),
        "wallet": client.get(f"/wallets/{a['id']}"),
        "create 422": client.post("/wallets", data={"csrf_token": csrf}),
        "review": post(client, a["id"], "transfer", "confirm", move, htmx=False),
        "review fragment": post(client, a["id"], "transfer", "confirm", move),
        "receipt": post(client, a["id"], "transfer", "move", move, htmx=False),
        "receipt fragment": post(client, a["id"], "transfer", "move", move),
        "refused": post(client, a["id"], "transfer", "move", {**move, "amount": "1000"}, htmx=False),
    }
    for name, response in pages.items():
        assert duplicate_ids(response.get_data(as_text=True)) == [], name


def test_the_create_form_labels_point_at_its_own_fields(client, support):
    html = client.get("/wallets").get_data(as_text=True)
    create = html[html.index('id="create-wallet"') :]
    for label_for in re.findall(r'<label for="([^"]+)"', create):
        first = re.search(rf'<(input|select)[^>]*id="{label_for}"', html)  # what the browser picks
        assert first and first.start() > html.index('id="create-wallet"'), label_for


# 5. Focus moves into a swapped-in step


def test_each_step_names_its_first_control_for_focus(client, support, make_wallet):
    a, b = make_wallet(balance="100.00"), make_wallet()
    csrf, key = form_of(client, a["id"])
    move = {"csrf_token": csrf, "idempotency_key": key, "to_wallet_id": b["id"], "amount": "5.00"}
    # A fragment names it for app.js (data-autofocus), a whole page for the browser (autofocus).
    review = post(client, a["id"], "transfer", "confirm", move).get_data(as_text=True)
    assert re.search(r'<button[^>]*id="transfer-confirm"[^>]*data-autofocus', review)
    review_page = post(client, a["id"], "transfer", "confirm", move, htmx=False).get_data(as_text=True)
    assert re.search(r'<button[^>]*id="transfer-confirm"[^>]* autofocus', review_page)
    refused = post(client, a["id"], "transfer", "confirm", {**move, "amount": ""}).get_data(as_text=True)
    assert re.search(r'<input[^>]*data-autofocus[^>]*id="transfer-amount"', refused)
    assert refused.count("autofocus") == 1
    page = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    assert "autofocus" not in page  # a plain visit leaves focus where the browser puts it


# 6. An error on the hidden idempotency key is shown, and the next submit works


@pytest.mark.parametrize("step", ["confirm", "move"])
@pytest.mark.parametrize("bad_key", ["", "k" * 300])
def test_a_bad_key_is_shown_and_replaced_with_a_fresh_one(client, support, make_wallet, service, step, bad_key):
    a, b = make_wallet(balance="100.00"), make_wallet()
    csrf, _ = form_of(client, a["id"])
    move = {"csrf_token": csrf, "idempotency_key": bad_key, "to_wallet_id": b["id"], "amount": "5.00"}
    refused = post(client, a["id"], "transfer", step, move)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert any("idempotency key" in m.lower() for m in alerts(html)), alerts(html)
    (fresh,) = keys_in(html)
    assert fresh and fresh != bad_key and 'value="5.00"' in html  # what was typed stays
    again = post(client, a["id"], "transfer", "move", {**move, "idempotency_key": fresh})
    assert again.status_code == 200 and "Transfer done" in again.get_data(as_text=True)
    assert service.get_wallet(a["id"])["balance"] == "95.00"


def test_a_key_reused_for_other_parameters_is_shown_and_replaced(client, support, make_wallet, service):
    a, b = make_wallet(balance="100.00"), make_wallet()
    csrf, key = form_of(client, a["id"])
    move = {"csrf_token": csrf, "idempotency_key": key, "to_wallet_id": b["id"], "amount": "5.00"}
    assert post(client, a["id"], "transfer", "move", move).status_code == 200
    reused = post(client, a["id"], "transfer", "move", {**move, "amount": "7.00"})
    html = reused.get_data(as_text=True)
    assert reused.status_code == 422
    assert any("already used for a different request" in m for m in alerts(html)), alerts(html)
    (fresh,) = keys_in(html)
    assert fresh != key
    again = post(client, a["id"], "transfer", "move", {**move, "amount": "7.00", "idempotency_key": fresh})
    assert "Transfer done" in again.get_data(as_text=True) and "already done" not in again.get_data(as_text=True)
    replay = post(client, a["id"], "transfer", "move", move)  # the first key, its own parameters
    assert replay.status_code == 200 and "already done" in replay.get_data(as_text=True)
    assert service.get_wallet(a["id"])["balance"] == "88.00"


# 7. Every URL a form posts to answers a whole page without htmx


@pytest.mark.parametrize("kind", ["fund", "transfer"])
def test_review_and_receipt_are_whole_pages_without_htmx(client, support, make_wallet, service, kind):
    a, b = make_wallet(balance="100.00"), make_wallet()
    csrf, key = form_of(client, a["id"], kind)
    move = {"csrf_token": csrf, "idempotency_key": key, "to_wallet_id": b["id"], "amount": "5.00"}
    label = "deposit" if kind == "fund" else "transfer"
    review = post(client, a["id"], kind, "confirm", move, htmx=False).get_data(as_text=True)
    assert "<html" in review and '<nav aria-label="Main">' in review and 'id="balance"' in review
    panel = review.split(f'<div id="{kind}-panel" class="panel">')[1].split('class="panel">')[0]
    assert f"Confirm {label}" in panel and "Cancel" in panel  # the review, in its own panel
    done = post(client, a["id"], kind, "move", move, htmx=False)
    tx_id = service.history(a["id"]).items[0]["transaction_id"]
    assert done.status_code == 303 and done.location == f"/wallets/{a['id']}/{kind}/receipts/{tx_id}"
    done = client.get(done.location)  # post, redirect, get: a reload reads, never posts again
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "<html" in html and '<nav aria-label="Main">' in html
    assert f"{label.capitalize()} done" in html and "hx-swap-oob" not in html
    after = "105.00" if kind == "fund" else "95.00"
    assert service.get_wallet(a["id"])["balance"] == after and after in html[html.index('id="balance"') :]
    refused = post(client, a["id"], kind, "confirm", {**move, "amount": "abc"}, htmx=False)
    assert refused.status_code == 422 and "<html" in refused.get_data(as_text=True)
    assert "Amount must be a number" in refused.get_data(as_text=True)


def test_create_wallet_answers_a_whole_page_without_htmx(client, support):
    csrf = csrf_from(client.get("/wallets").get_data(as_text=True))
    refused = client.post("/wallets", data={"csrf_token": csrf, "owner_name": ""})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "<html" in html and '<nav aria-label="Main">' in html
    assert 'id="create-wallet"' in html and "This field is required." in html
    created = client.post("/wallets", data={"csrf_token": csrf, "owner_name": "No Script", "currency": "EUR"})
    assert created.status_code == 303 and "/wallets/" in created.location
    fragment = client.post("/wallets", data={"csrf_token": csrf, "owner_name": ""}, headers=HX)
    assert fragment.get_data(as_text=True).lstrip().startswith('<section id="create-wallet"')
