"""Fund and transfer in the console: confirm step, inline errors, one movement per token."""

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_from
from tests.hostile import HOSTILE_NAMES
from wallet_app.models import Transaction

HX = {"HX-Request": "true"}


@pytest.fixture
def support(login_as):
    return login_as("support")


def form_token(html: str) -> str:
    return re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)


def page(client, wallet_id):
    html = client.get(f"/wallets/{wallet_id}").get_data(as_text=True)
    return html, csrf_from(html), form_token(html)


def transfer(client, src, dst, amount, step="transfer", token=None, key=None, csrf=None):
    html, page_csrf, page_key = page(client, src)
    data = {
        "csrf_token": csrf or page_csrf,
        "idempotency_key": key or page_key,
        "to_wallet_id": str(dst),
        "amount": amount,
        "reference": "rent",
    }
    return client.post(f"/wallets/{src}/transfer" + ("/confirm" if step == "confirm" else ""), data=data, headers=HX)


def count_transfers(session):
    return session.scalar(select(func.count()).select_from(Transaction).where(Transaction.kind == "transfer"))


def test_confirm_shows_both_wallets_and_balances_after(client, support, make_wallet):
    a, b = make_wallet(balance="100.00", owner_name="Alice"), make_wallet(owner_name="Bob")
    response = transfer(client, a["id"], b["id"], "40.00", step="confirm")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Confirm transfer" in html and "Alice" in html and "Bob" in html
    assert "60.00" in html and "40.00" in html  # balances after


def test_transfer_moves_money_and_updates_balance_and_history(client, support, make_wallet, service):
    a, b = make_wallet(balance="100.00"), make_wallet()
    response = transfer(client, a["id"], b["id"], "40.00")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Transfer done" in html
    assert 'id="balance"' in html and 'hx-swap-oob="true"' in html and "60.00" in html
    assert service.get_wallet(b["id"])["balance"] == "40.00"


def test_the_same_form_token_twice_moves_money_once(client, support, make_wallet, session):
    a, b = make_wallet(balance="100.00"), make_wallet()
    html, csrf, key = page(client, a["id"])
    for _ in range(3):
        response = client.post(
            f"/wallets/{a['id']}/transfer",
            headers=HX,
            data={"csrf_token": csrf, "idempotency_key": key, "to_wallet_id": b["id"], "amount": "10.00"},
        )
        assert response.status_code == 200
    assert count_transfers(session) == 1
    assert "already done" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "amount,dst,message",
    [
        ("500.00", None, "Insufficient funds: 100.00 USD available."),
        ("1.001", None, "USD amounts have at most 2 decimal places."),
        ("abc", None, "Amount must be a number"),
        ("-5", None, "Amount must be more than zero."),
        ("1,23.00", None, "Amount must be a number"),
        ("1.00", "self", "Choose two different wallets."),
        ("1.00", 999999999, "does not exist"),
    ],
)
def test_errors_show_next_to_the_field_and_move_nothing(client, support, make_wallet, session, amount, dst, message):
    a, b = make_wallet(balance="100.00"), make_wallet()
    target = a["id"] if dst == "self" else (dst or b["id"])
    for step in ("confirm", "transfer"):
        response = transfer(client, a["id"], target, amount, step=step)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert count_transfers(session) == 0


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(client, support, make_wallet, session):
    a, b = make_wallet(balance="100.00"), make_wallet()
    html, _, key = page(client, a["id"])
    response = client.post(
        f"/wallets/{a['id']}/transfer", data={"idempotency_key": key, "to_wallet_id": b["id"], "amount": "10.00"}
    )
    assert response.status_code == 400
    assert count_transfers(session) == 0


def test_a_viewer_cannot_move_money(client, login_as, make_wallet, session):
    a, b = make_wallet(balance="100.00"), make_wallet()
    login_as("viewer")
    html = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    assert "Review transfer" not in html
    response = client.post(
        f"/wallets/{a['id']}/transfer", data={"csrf_token": csrf_from(html), "to_wallet_id": b["id"], "amount": "1.00"}
    )
    assert response.status_code == 403 and count_transfers(session) == 0


def test_hostile_names_render_escaped(client, support, make_wallet):
    for name in HOSTILE_NAMES:
        wallet = make_wallet(owner_name=name)
        html = client.get(f"/wallets/{wallet['id']}").get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html
    listing = client.get("/wallets").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in listing


def test_fragments_for_htmx_whole_pages_otherwise(client, support, make_wallet):
    make_wallet(owner_name="Zed Fragment")
    full = client.get("/wallets?q=Zed")
    fragment = client.get("/wallets?q=Zed", headers=HX)
    assert "<html" in full.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert "Zed Fragment" in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    restore = client.get("/wallets?q=Zed", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_history_load_more_and_date_filter(client, support, make_wallet, service, actor):
    import uuid

    a, b = make_wallet(balance="100.00"), make_wallet()
    for i in range(30):
        service.transfer(a["id"], b["id"], "1.00", idempotency_key=str(uuid.uuid4()), actor=actor)
    html = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    more = re.search(r'hx-get="([^"]*cursor=[^"]*)"', html).group(1).replace("&amp;", "&")
    rest = client.get(more, headers=HX).get_data(as_text=True)
    assert rest.count("<tr>") == 6 and "Load more" not in rest  # 31 entries, 25 per page
    empty = client.get(f"/wallets/{a['id']}/history?since=2999-01-01", headers=HX).get_data(as_text=True)
    assert "No movements match these filters" in empty
    reloaded = client.get(f"/wallets/{a['id']}/history?since=2999-01-01").get_data(as_text=True)
    assert "<html" in reloaded and "No movements match these filters" in reloaded and "Review transfer" in reloaded
    assert client.get(f"/wallets/{a['id']}/history?since=not-a-date", headers=HX).status_code == 422


def test_after_success_the_form_is_fresh_with_a_new_token(client, support, make_wallet, service):
    a, b = make_wallet(balance="100.00"), make_wallet()
    html, csrf, key = page(client, a["id"])
    done = client.post(
        f"/wallets/{a['id']}/transfer",
        headers=HX,
        data={"csrf_token": csrf, "idempotency_key": key, "to_wallet_id": b["id"], "amount": "10.00"},
    )
    body = done.get_data(as_text=True)
    new_key = form_token(body)
    assert new_key != key and 'value="10.00"' not in body
    again = client.post(
        f"/wallets/{a['id']}/transfer",
        headers=HX,
        data={"csrf_token": csrf, "idempotency_key": new_key, "to_wallet_id": b["id"], "amount": "10.00"},
    )
    assert "already done" not in again.get_data(as_text=True)
    assert service.get_wallet(a["id"])["balance"] == "80.00"


@pytest.mark.parametrize(
    "typed, moved", [("1,234.56", "1234.56"), (" 12.5 ", "12.50"), ("12.", "12.00"), (".5", "0.50")]
)
def test_the_console_takes_amounts_as_people_type_them(client, support, make_wallet, service, typed, moved):
    """Issue 25, item 9: the console's own format ("1,234.56"), spaces around, "12." and ".5"
    are the amounts they look like (the API keeps to the plain form: tests/test_money.py)."""
    a, b = make_wallet(balance="5000.00"), make_wallet()
    review = transfer(client, a["id"], b["id"], typed, step="confirm")
    assert review.status_code == 200 and "Confirm transfer" in review.get_data(as_text=True)
    assert transfer(client, a["id"], b["id"], typed).status_code == 200
    assert service.get_wallet(b["id"])["balance"] == f"{Decimal(moved):.2f}"
