"""The console's bank statements: finance uploads a file, reads the breaks, resolves one by a
link and one by an adjustment (htmx and without JavaScript), downloads the breaks."""

import io
import re

from tests.conftest import form_data
from tests.finance.bankfixtures import day, fund, statement

HX = {"HX-Request": "true"}


def upload(client, csrf, text, **fields):
    data = {"csrf_token": csrf(), "currency": "USD", "tolerance": "0", "window_days": "2", **fields}
    data["statement"] = (io.BytesIO(text.encode()), "statement.csv")
    return client.post("/finance/statements", data=data, content_type="multipart/form-data")


def test_finance_uploads_reads_breaks_and_resolves_them(client, login_as, csrf, make_wallet, actor):
    login_as("finance")
    wallet = make_wallet(balance="500.00", owner_name="Ada")
    a = fund(wallet["id"], "60.00", actor, reference="P1")
    b = fund(wallet["id"], "40.00", actor, reference="P2")
    page = client.get("/finance/statements")
    assert page.status_code == 200 and "Upload a statement" in page.get_data(as_text=True)
    text = statement(("B1", day(), "100.00", "LUMP", ""), ("B2", day(), "-15.00", "", "bank charge"))
    done = upload(client, csrf, text)
    assert done.status_code == 303
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "0 of 2 matched" in html and "bank charge" in html
    line_ids = re.findall(r'id="break-(\d+)"', html)
    link_url = re.search(r'action="(/finance/statements/\d+/lines/' + line_ids[0] + '/link)"', html).group(1)
    refused = client.post(link_url, data={"csrf_token": csrf(), "transaction_ids": "999999"}, headers=HX)
    assert refused.status_code == 422 and "Transaction 999999 does not exist" in refused.get_data(as_text=True)
    linked = client.post(link_url, data={"csrf_token": csrf(), "transaction_ids": f"{a['id']}, {b['id']}"}, headers=HX)
    assert linked.status_code == 200 and "Matched." in linked.get_data(as_text=True)
    adjust_url = link_url.replace(line_ids[0] + "/link", line_ids[1] + "/adjust")
    fields = form_data(html, adjust_url)
    asked = client.post(adjust_url, data={**fields, "wallet_id": str(wallet["id"]), "reason": "charge"})
    assert asked.status_code == 303  # without JavaScript: the page again, after a redirect
    after = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "awaits a second person" in after and "1 of 2 matched" in after
    breaks = client.get(done.headers["Location"] + "/breaks.csv")
    assert breaks.status_code == 200 and "statement,awaiting_approval,3" in breaks.get_data(as_text=True)


def test_a_malformed_statement_is_shown_next_to_the_file(client, login_as, csrf):
    login_as("finance")
    answer = upload(client, csrf, statement(("B1", "yesterday", "1.00", "", "")))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Line 2, column date" in html and "Nothing was imported" in html


def test_support_may_not_reconcile(client, login_as):
    login_as("support")
    assert client.get("/finance/statements").status_code == 403
