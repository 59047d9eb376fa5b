"""Reversing from the transaction page: amount and reason, a review step with both wallets
before and after, a receipt; the same steps as whole pages without htmx."""

import re
import uuid

from tests.conftest import csrf_from
from wallet_app.services.audit import Actor

HX = {"HX-Request": "true"}


def key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)


def test_review_then_confirm_reverses_part_of_a_transfer(client, login_as, make_wallet, service, actor):
    login_as("support")
    a, b = make_wallet(balance="50.00"), make_wallet()
    tx = service.transfer(a["id"], b["id"], "20.00", idempotency_key=str(uuid.uuid4()), actor=actor).transaction
    page = client.get(f"/transactions/{tx['id']}").get_data(as_text=True)
    assert "Reverse this transfer" in page
    data = {"csrf_token": csrf_from(page), "amount": "5.00", "reason": "sent too much", "idempotency_key": key_of(page)}
    review = client.post(f"/transactions/{tx['id']}/reverse/confirm", data=data, headers=HX)
    html = review.get_data(as_text=True)
    assert review.status_code == 200 and "Confirm reversal" in html and "<html" not in html
    rows = re.findall(r'<td class="num">([^<]+)</td>', html)  # per wallet: now, change, after
    assert rows == ["20.00", "-5.00", "15.00", "30.00", "+5.00", "35.00"]
    done = client.post(f"/transactions/{tx['id']}/reverse", data=data, headers=HX).get_data(as_text=True)
    assert "Reversal done" in done and "Reversed so far: 5.00 USD of 20.00 USD" in done
    again = client.post(f"/transactions/{tx['id']}/reverse", data=data, headers=HX).get_data(as_text=True)
    assert "already done" in again  # the same token replays, it does not reverse twice
    assert [service.get_wallet(w)["balance"] for w in (a["id"], b["id"])] == ["35.00", "15.00"]


def test_refusals_show_next_to_their_field_and_reverse_nothing(
    client, login_as, make_wallet, service, actor, ledger_snapshot
):
    login_as("support")
    a, b = make_wallet(balance="50.00"), make_wallet()
    tx = service.transfer(a["id"], b["id"], "20.00", idempotency_key=str(uuid.uuid4()), actor=actor).transaction
    page = client.get(f"/transactions/{tx['id']}").get_data(as_text=True)
    before = ledger_snapshot()
    for amount, reason, message in (
        ("20.01", "x", "At most 20.00"),
        ("5", "", "This field is required"),
        ("abc", "x", "Amount must be a number"),
    ):
        answer = client.post(
            f"/transactions/{tx['id']}/reverse/confirm",
            headers=HX,
            data={"csrf_token": csrf_from(page), "amount": amount, "reason": reason, "idempotency_key": key_of(page)},
        )
        assert answer.status_code == 422 and message in answer.get_data(as_text=True), amount
    assert ledger_snapshot() == before


def test_without_javascript_each_step_is_a_whole_page(client, login_as, make_wallet, service, actor):
    login_as("admin")
    w = make_wallet(balance="10.00")
    tx = service.withdraw(w["id"], "4.00", idempotency_key=str(uuid.uuid4()), actor=actor).transaction
    page = client.get(f"/transactions/{tx['id']}").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "amount": "", "reason": "payout bounced", "idempotency_key": key_of(page)}
    review = client.post(f"/transactions/{tx['id']}/reverse/confirm", data=data).get_data(as_text=True)
    assert "<html" in review and "Wallet console" in review and "Confirm reversal" in review
    posted = client.post(f"/transactions/{tx['id']}/reverse", data={**data, "amount": "4.00"})
    reversal_id = service.get_transaction(tx["id"])["reversal_ids"][0]
    assert posted.status_code == 303 and posted.location == f"/transactions/{tx['id']}/reversals/{reversal_id}"
    receipt = client.get(posted.location).get_data(as_text=True)  # post, redirect, get
    assert "<html" in receipt and "Reversal done" in receipt
    assert service.get_wallet(w["id"])["balance"] == "10.00"


def test_a_reversal_offers_no_reverse_and_viewers_see_no_form(client, login_as, make_wallet, service, actor):
    w = make_wallet(balance="10.00")
    tx = service.withdraw(w["id"], "4.00", idempotency_key=str(uuid.uuid4()), actor=actor).transaction
    back = service.reverse(tx["id"], reason="r", idempotency_key=str(uuid.uuid4()), actor=actor).transaction
    login_as("support")
    assert "Reverse this" not in client.get(f"/transactions/{back['id']}").get_data(as_text=True)
    assert "Reverse this" not in client.get(f"/transactions/{tx['id']}").get_data(as_text=True)  # fully reversed
    login_as("viewer")
    other = service.fund(w["id"], "1.00", idempotency_key=str(uuid.uuid4()), actor=actor).transaction
    assert "Reverse this" not in client.get(f"/transactions/{other['id']}").get_data(as_text=True)


def test_a_write_builds_its_error_page_only_when_there_is_an_error(
    client, login_as, make_wallet, service, actor, monkeypatch
):
    """Without JavaScript a reversal reads the transaction page once, for the receipt: the
    page a refusal would show is built only if there is a refusal."""
    from wallet_app.wallets import pages

    built, real = [], pages.transaction_page
    monkeypatch.setattr(pages, "transaction_page", lambda *a, **kw: built.append(a) or real(*a, **kw))
    login_as("support")
    a, b = make_wallet(balance="50.00"), make_wallet()
    tx = service.transfer(a["id"], b["id"], "20.00", idempotency_key=str(uuid.uuid4()), actor=actor).transaction
    page = client.get(f"/transactions/{tx['id']}").get_data(as_text=True)
    built.clear()
    data = {"csrf_token": csrf_from(page), "amount": "5.00", "reason": "sent too much", "idempotency_key": key_of(page)}
    done = client.post(f"/transactions/{tx['id']}/reverse", data=data)
    assert done.status_code == 303 and built == []  # the write redirects to its receipt
    assert "Reversal done" in client.get(done.location).get_data(as_text=True) and len(built) == 1
    refused = client.post(f"/transactions/{tx['id']}/reverse", data=data | {"amount": "99.00", "idempotency_key": "x"})
    assert refused.status_code == 422 and "At most 15.00" in refused.get_data(as_text=True)


def test_a_reversed_transaction_says_so_and_one_that_never_moved_offers_no_reversal(
    client, login_as, make_wallet, service, actor
):
    """Issue 25, item 5: the status reads "partly reversed", then "reversed"; a rejected
    request says nothing moved instead of who could reverse it."""
    from wallet_app.ledger import rates

    a, b = make_wallet(balance="100.00"), make_wallet()
    tx = service.transfer(a["id"], b["id"], "30.00", idempotency_key="t", actor=actor).transaction
    login_as("viewer")
    service.reverse(tx["id"], amount="10.00", idempotency_key="r1", actor=actor, reason="part")
    page = client.get(f"/transactions/{tx['id']}").get_data(as_text=True)
    assert '<span class="status hold posted">partly reversed</span>' in page
    service.reverse(tx["id"], amount="20.00", idempotency_key="r2", actor=actor, reason="rest")
    page = client.get(f"/transactions/{tx['id']}").get_data(as_text=True)
    assert '<span class="status hold posted">reversed</span>' in page and "Fully reversed" in page
    rates.set_threshold("USD", "10.00", actor=actor)
    asked = service.transfer(a["id"], b["id"], "50.00", idempotency_key="w", actor=actor).transaction
    service.reject(asked["id"], idempotency_key="x", actor=Actor("user:other", "o@example.com"), reason="no")
    page = client.get(f"/transactions/{asked['id']}").get_data(as_text=True)
    assert "Nothing moved, so there is nothing to reverse." in page and "can reverse it" not in page


def test_a_reversals_reason_shows_in_the_wallets_history(client, login_as, make_wallet, service, actor):
    """Issue 25, item 13: the reason given for a reversal is in the history, next to it."""
    a, b = make_wallet(balance="100.00"), make_wallet()
    tx = service.transfer(a["id"], b["id"], "30.00", idempotency_key="t", actor=actor).transaction
    service.reverse(tx["id"], amount="5.00", idempotency_key="r", actor=actor, reason="charged twice")
    login_as("viewer")
    page = client.get(f"/wallets/{a['id']}").get_data(as_text=True)
    history = page[page.index('id="history"') :]
    assert "“charged twice”" in history
