"""Batches in the console (issue 26): a CSV of payouts uploaded, reviewed by the engine's dry
run row by row, posted as one batch, read and downloaded; a waiting batch decided as one."""

import csv
import io
import re

from tests.conftest import csrf_from, form_data
from wallet_app.ledger import rates
from wallet_app.services.audit import Actor

ADMIN = Actor("user:admin", "admin@example.com")


def upload(client, text: str, mode: str = "independent"):
    page = client.get("/batches").get_data(as_text=True)
    data = form_data(page, "/batches/review") | {"mode": mode, "file": (io.BytesIO(text.encode()), "payouts.csv")}
    return client.post("/batches/review", data=data, content_type="multipart/form-data")


def people(make_wallet):
    ada = make_wallet(balance="100.00", owner_name="Ada Lovelace")
    bob = make_wallet(owner_name="Bob Payee")
    make_wallet(owner_name="Sam Twin")
    make_wallet(owner_name="Sam Twin")
    return ada, bob


def test_an_upload_is_reviewed_row_by_row_then_posted_read_and_downloaded(client, login_as, make_wallet, service):
    ada, bob = people(make_wallet)
    login_as("support")
    text = (
        "from,to,amount,reference\n"
        "Ada Lovelace,Bob Payee,ten,pay-1\n"  # not an amount: not understood
        f'{ada["id"]},{bob["id"]},"1,0.00",pay-2\n'  # not 10.00: commas only between thousands
        "Ada Lovelace,Sam Twin,5.00,pay-3\n"  # two wallets have that name
        "Ada Lovelace,Bob Payee,500.00,pay-4\n"  # more than Ada has: refused by the dry run
        "Ada Lovelace,,10.00,payout-5\n"
        "Nobody,Bob Payee,1.00,pay-6\n"
        f'{ada["id"]},{bob["id"]},1.00,=HYPERLINK("http://evil.example")\n'  # a formula, kept as text
    )
    review = upload(client, text)
    html = review.get_data(as_text=True)
    flat = re.sub(r"\s+", " ", html)
    assert review.status_code == 200 and "Review the batch" in html
    assert "7 rows: <strong>2 rows pass</strong>, 5 refused or not understood" in flat
    assert "Write amounts as 1,234.50: &#39;1,0.00&#39; is not one." in html
    assert "Several wallets are named &#39;Sam Twin&#39;" in html and "write the id instead" in html
    assert "Refused: Insufficient funds" in html and "No wallet is &#39;Nobody&#39; (from)" in html
    assert "To be posted: 11.00 USD" in html
    assert service.get_wallet(ada["id"])["balance"] == "100.00"  # a review moves nothing
    posted = client.post("/batches", data=form_data(html, "/batches"))
    assert posted.status_code == 303 and re.match(r"/batches/\d+$", posted.location)
    assert client.post("/batches", data=form_data(html, "/batches")).location == posted.location  # once
    page = client.get(posted.location).get_data(as_text=True)
    assert "partly" not in page and "partially posted" in page and "Ada Lovelace" in page and "Bob Payee" in page
    assert service.get_wallet(ada["id"])["balance"] == "89.00"  # the payout of 10.00 and 1.00
    rows = list(csv.reader(io.StringIO(client.get(posted.location + ".csv").get_data(as_text=True))))
    assert rows[0][:2] == ["index", "status"] and [r[1] for r in rows[1:]] == ["refused", "posted", "posted"]
    assert rows[3][7].startswith("'=")  # neutralised: a spreadsheet shows it, never runs it


def test_all_or_nothing_with_a_refused_row_offers_no_post(client, login_as, make_wallet):
    ada, bob = people(make_wallet)
    login_as("finance")
    html = upload(client, f"from,to,amount,reference\n{ada['id']},{bob['id']},500.00,x\n", mode="atomic")
    page = html.get_data(as_text=True)
    assert "nothing would post" in page and 'action="/batches"' not in page


def test_a_waiting_batch_is_decided_as_one_on_the_approvals_page(app, client, login_as, make_wallet, service):
    ada, bob = people(make_wallet)
    rates.set_threshold("USD", "20.00", actor=ADMIN)
    login_as("support")
    review = upload(
        client, f"from,to,amount,reference\n{ada['id']},{bob['id']},15.00,a\n{ada['id']},{bob['id']},15.00,b\n"
    )
    html = review.get_data(as_text=True)
    assert "will <strong>await approval</strong>" in html
    batch_url = client.post("/batches", data=form_data(html, "/batches")).location
    mine = re.sub(r"\s+", " ", client.get(batch_url).get_data(as_text=True))
    assert "Waiting for a second person: 30.00 USD in 2 rows" in mine and "Yours: another person decides" not in mine
    login_as("approver")
    listing = client.get("/approvals").get_data(as_text=True)
    batch_id = batch_url.rsplit("/", 1)[1]
    assert f'id="batch-{batch_id}"' in listing and "30.00 USD" in listing
    page = client.get(batch_url).get_data(as_text=True)
    done = client.post(batch_url + "/approve", data={"csrf_token": csrf_from(page)})
    assert done.status_code == 303
    assert "approved: posted" in client.get(batch_url).get_data(as_text=True)
    assert service.get_wallet(bob["id"])["balance"] == "30.00"


def test_who_may_upload(client, login_as):
    login_as("viewer")
    assert client.get("/batches").status_code == 403
    login_as("approver")
    assert client.get("/batches").status_code == 403
    login_as("finance")
    assert client.get("/batches").status_code == 200


def test_finance_prepares_a_batch_that_always_waits_for_a_second_person(client, login_as, make_wallet, service):
    """Finance uploads payouts but does not move money alone: its batch waits, whatever its
    amounts (the review says so), and moves nothing until another person approves it."""
    ada, bob = people(make_wallet)
    login_as("finance")
    html = upload(client, f"from,to,amount,reference\n{ada['id']},{bob['id']},1.00,small\n").get_data(as_text=True)
    assert "will <strong>await approval</strong>" in html
    page = client.get(client.post("/batches", data=form_data(html, "/batches")).location).get_data(as_text=True)
    assert "awaiting approval" in page and service.get_wallet(bob["id"])["balance"] == "0.00"


def test_amounts_and_files_a_spreadsheet_may_write(client, login_as, make_wallet):
    """A decimal comma is not a thousands separator ("2,50" is not 250); a file saved with old
    Mac line ends reads; one past the request limit is a page, never a 500."""
    ada, bob = people(make_wallet)
    login_as("support")
    html = upload(client, f'from,to,amount,reference\n{ada["id"]},{bob["id"]},"2,50",x\n').get_data(as_text=True)
    assert "Write amounts as 1,234.50: &#39;2,50&#39; is not one." in html
    crlf = upload(client, f"from,to,amount,reference\r{ada['id']},{bob['id']},1.00,x\r")
    assert crlf.status_code == 200 and "1 row" in crlf.get_data(as_text=True)
    huge = upload(client, "from,to,amount,reference\n" + "x" * 200_000 + ",1,1.00,x\n")
    assert huge.status_code == 413 and "<html" in huge.get_data(as_text=True)  # past the request limit: a page
