"""The console's steps as htmx fragments and as whole pages: cancel, live search, unique ids,
focus, hidden-field errors and every form URL answering a full page without JavaScript."""
import re

import pytest

from tests.browser.ids import duplicate_ids
from tests.conftest import csrf_from

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
    pages = {"wallets": client.get("/wallets"), "wallet": client.get(f"/wallets/{a['id']}"),
             "create 422": client.post("/wallets", data={"csrf_token": csrf}),
             "review": post(client, a["id"], "transfer", "confirm", move, htmx=False),
             "review fragment": post(client, a["id"], "transfer", "confirm", move),
             "receipt": post(client, a["id"], "transfer", "move", move, htmx=False),
             "receipt fragment": post(client, a["id"], "transfer", "move", move),
             "refused": post(client, a["id"], "transfer", "move", {**move, "amount": "1000"}, htmx=False)}
    for name, response in pages.items():
        assert duplicate_ids(response.get_data(as_text=True)) == [], name


def test_the_create_form_labels_point_at_its_own_fields(client, support):
    html = client.get("/wallets").get_data(as_text=True)
    create = html[html.index('id="create-wallet"'):]
    for label_for in re.findall(r'<label for="([^"]+)"', create):
        first = re.search(rf'<(input|select)[^>]*id="{label_for}"', html)  # what the browser picks
        assert first and first.start() > html.index('id="create-wallet"'), label_for
