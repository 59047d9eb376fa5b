"""POST /api/v1/batches (issue 26): up to 1,000 movements in one request, atomic or
independent; replays; four eyes on the batch as a whole; a batch racing single transfers."""

import csv
import io
import threading
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.api.conftest import Api
from tests.conftest import ledger_api
from wallet_app.extensions import db
from wallet_app.ledger import batches, rates
from wallet_app.services.audit import Actor
from wallet_app.services.tokens import create_token

FINANCE = Actor("user:finance", "finance@example.com")


def k():
    return str(uuid.uuid4())


@pytest.fixture
def three(api):
    """Alice 100.00, Bob and Carol nothing (USD)."""
    ids = [api.post("/wallets", {"owner_name": n, "currency": "USD"}).json["id"] for n in ("Alice", "Bob", "Carol")]
    assert api.post(f"/wallets/{ids[0]}/fund", {"amount": "100.00"}, key=k()).status_code == 201
    return ids


def balances(api, ids):
    return [api.get(f"/wallets/{i}").json["balance"] for i in ids]


def payouts(a, to, amounts):
    return [{"kind": "transfer", "from_wallet_id": a, "to_wallet_id": t, "amount": x} for t, x in zip(to, amounts)]


def test_an_independent_batch_posts_what_it_can_and_names_each_refusal(api, three, session):
    a, b, c = three
    items = [
        {"kind": "transfer", "from_wallet_id": a, "to_wallet_id": b, "amount": "30.00", "reference": "pay-1"},
        {"kind": "transfer", "from_wallet_id": a, "to_wallet_id": c, "amount": "500.00"},  # too much
        {"kind": "withdrawal", "from_wallet_id": a, "amount": "10.00"},
        {"kind": "fund", "to_wallet_id": c, "amount": "5.00"},
        {"kind": "transfer", "from_wallet_id": b, "to_wallet_id": b, "amount": "1.00"},  # same wallet
    ]
    answer = api.post("/batches", {"mode": "independent", "items": items}, key="batch-1")
    assert answer.status_code == 201, answer.json
    batch = answer.json
    assert batch["mode"] == "independent" and batch["status"] == "partially_posted"
    assert [i["status"] for i in batch["items"]] == ["posted", "refused", "posted", "posted", "refused"]
    assert [i["index"] for i in batch["items"]] == [0, 1, 2, 3, 4]
    assert batch["items"][1]["error"]["code"] == "insufficient_funds"
    assert batch["items"][1]["error"]["detail"].startswith("Insufficient funds: 70.00 USD available")
    assert batch["items"][4]["error"]["code"] == "same_wallet"
    posted = batch["items"][0]["transaction"]
    assert posted["batch_id"] == batch["id"] and posted["reference"] == "pay-1" and posted["amount"] == "30.00"
    assert api.get(f"/transactions/{posted['id']}").json["batch_id"] == batch["id"]
    assert balances(api, three) == ["60.00", "30.00", "5.00"]
    assert api.get(f"/batches/{batch['id']}").json == batch
    # The batch's transactions name it in the history and its CSV too.
    assert api.get(f"/wallets/{b}/history").json["data"][0]["batch_id"] == batch["id"]
    rows = list(csv.reader(io.StringIO(api.get(f"/wallets/{b}/history.csv").get_data(as_text=True))))
    assert rows[1][rows[0].index("batch_id")] == str(batch["id"])
    assert (
        session.execute(text("SELECT count(*) FROM transactions WHERE batch_id = :b"), {"b": batch["id"]}).scalar() == 3
    )


def test_items_post_in_order_each_seeing_the_ones_before(api, three):
    """A refusal undoes its item alone; the items around it post as if it had not been asked
    (the engine runs the items before it again, on the same state, under the same locks)."""
    a, b, c = three
    items = payouts(a, [b, c, c, b, c], ["60.00", "60.00", "40.00", "0.01", "0.01"])
    batch = api.post("/batches", {"mode": "independent", "items": items}, key=k()).json
    assert [i["status"] for i in batch["items"]] == ["posted", "refused", "posted", "refused", "refused"]
    assert [i["transaction"]["entries"][0]["balance_after"] for i in batch["items"] if "transaction" in i] == [
        "40.00",
        "0.00",
    ]
    assert balances(api, three) == ["0.00", "60.00", "40.00"]
    ids = [i["transaction"]["id"] for i in batch["items"] if "transaction" in i]
    assert all(api.get(f"/transactions/{t}").json["batch_id"] == batch["id"] for t in ids)


def test_an_atomic_batch_refused_at_its_last_item_posts_nothing(api, three, session):
    a, b, c = three
    before = session.execute(text("SELECT count(*) FROM transactions")).scalar()
    items = payouts(a, [b, c, b, c], ["20.00", "20.00", "20.00", "40.01"])  # 100.01 in all
    refused = api.post("/batches", {"mode": "atomic", "items": items}, key="atomic-1")
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.json["code"] == "batch_refused"
    assert [(e["index"], e["code"]) for e in refused.json["errors"]] == [(3, "insufficient_funds")]
    assert "40.00 USD available" in refused.json["errors"][0]["detail"]
    assert balances(api, three) == ["100.00", "0.00", "0.00"]
    assert session.execute(text("SELECT count(*) FROM transactions")).scalar() == before
    assert session.execute(text("SELECT count(*) FROM batches")).scalar() == 0
    # Fixed, the same key posts it (a refusal left nothing behind, its claim included).
    items[3]["amount"] = "40.00"
    done = api.post("/batches", {"mode": "atomic", "items": items}, key="atomic-1")
    assert done.status_code == 201 and done.json["status"] == "posted"
    assert balances(api, three) == ["0.00", "40.00", "60.00"]


def test_an_item_naming_no_wallet_is_refused_and_kept_as_asked(api, three):
    """A refusal, not a 500: the batch keeps the item as asked, its wallet that does not exist."""
    a, b, _ = three
    batch = api.post("/batches", {"mode": "independent", "items": payouts(a, [999999], ["1.00"])}, key=k())
    assert batch.status_code == 201 and batch.json["items"][0]["error"]["code"] == "not_found"
    assert batch.json["items"][0]["to_wallet_id"] == 999999


def test_every_refused_item_of_an_atomic_batch_is_named(api, three):
    a, b, c = three
    items = payouts(a, [b, 999999, c, a], ["1.00", "1.00", "200.00", "1.00"])
    refused = api.post("/batches", {"mode": "atomic", "items": items}, key=k())
    assert [(e["index"], e["code"]) for e in refused.json["errors"]] == [
        (1, "not_found"),
        (2, "insufficient_funds"),
        (3, "same_wallet"),
    ]


def test_a_replay_answers_the_first_answer_and_another_body_is_refused(api, three):
    a, b, c = three
    body = {"mode": "independent", "items": payouts(a, [b, c], ["10.00", "1000.00"])}
    first = api.post("/batches", body, key="same")
    again = api.post("/batches", body, key="same")
    assert (again.status_code, again.json) == (first.status_code, first.json)
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert balances(api, three) == ["90.00", "10.00", "0.00"]  # once
    other = api.post("/batches", {"mode": "atomic", "items": body["items"]}, key="same")
    assert (other.status_code, other.json["code"]) == (422, "idempotency_key_reused")
    all_refused = api.post("/batches", {"mode": "independent", "items": payouts(a, [b], ["999.00"])}, key=k())
    assert all_refused.status_code == 201 and all_refused.json["status"] == "refused"


def test_item_keys_never_meet_single_movement_keys(api, three):
    """Item i of batch K is claimed as 'K:i' in a scope of its own: a single movement that used
    the same text as its key neither blocks the batch nor is blocked by it; a batch key has
    at most 250 characters (its items' keys then fit)."""
    a, b, c = three
    single = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "1.00"}, key="pay-05:0")
    assert single.status_code == 201
    batch = api.post("/batches", {"mode": "atomic", "items": payouts(a, [c], ["2.00"])}, key="pay-05")
    assert batch.status_code == 201 and batch.json["status"] == "posted"
    later = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": c, "amount": "3.00"}, key="pay-06:0")
    assert later.status_code == 201
    long_key = api.post("/batches", {"mode": "atomic", "items": payouts(a, [c], ["1.00"])}, key="k" * 251)
    assert (long_key.status_code, long_key.json["errors"][0]["field"]) == (422, "idempotency_key")


def test_a_thousand_items_post_in_one_request_and_more_are_too_many(api, three, session):
    a, b, c = three
    items = payouts(a, [b, c] * 500, ["0.10"] * 1000)
    done = api.post("/batches", {"mode": "atomic", "items": items}, key=k())
    assert done.status_code == 201 and len(done.json["items"]) == 1000
    assert balances(api, three) == ["0.00", "50.00", "50.00"]
    too_many = api.post("/batches", {"mode": "atomic", "items": items + items[:1]}, key=k())
    assert too_many.status_code == 413 and too_many.json["code"] == "batch_too_large"
    assert api.post("/batches", {"mode": "atomic", "items": []}, key=k()).status_code == 422


@pytest.mark.parametrize(
    "item, field",
    [
        ({"kind": "transfer", "from_wallet_id": 1, "amount": "1.00"}, "items[1].to_wallet_id"),
        ({"kind": "transfer", "from_wallet_id": 1, "to_wallet_id": 2, "amount": 1.5}, "items[1].amount"),
        ({"kind": "fund", "to_wallet_id": 1, "amount": "-1"}, "items[1].amount"),
        ({"kind": "withdrawal", "from_wallet_id": 1, "to_wallet_id": 2, "amount": "1.00"}, "items[1].to_wallet_id"),
        ({"kind": "exchange", "amount": "1.00"}, "items[1].kind"),
        ("transfer", "items[1]"),
    ],
)
def test_a_malformed_item_refuses_the_whole_request_naming_it(api, three, session, item, field):
    a, b, _ = three
    good = {"kind": "transfer", "from_wallet_id": a, "to_wallet_id": b, "amount": "1.00"}
    for mode in ("atomic", "independent"):
        answer = api.post("/batches", {"mode": mode, "items": [good, item]}, key=k())
        assert answer.status_code == 422, answer.json
        assert [e["field"] for e in answer.json["errors"]] == [field]
    assert balances(api, three)[:2] == ["100.00", "0.00"]
    assert session.execute(text("SELECT count(*) FROM batches")).scalar() == 0


def test_above_the_threshold_a_batch_waits_whole_and_another_principal_decides(client, api, three, make_token):
    a, b, c = three
    rates.set_threshold("USD", "50.00", actor=FINANCE)
    items = payouts(a, [b, c], ["30.00", "30.00"])  # each below, 60.00 together: the batch waits
    waiting = api.post("/batches", {"mode": "atomic", "items": items}, key=k())
    assert waiting.status_code == 202 and waiting.json["status"] == "awaiting_approval"
    assert {i["status"] for i in waiting.json["items"]} == {"awaiting_approval"}
    assert balances(api, three) == ["100.00", "0.00", "0.00"]
    batch = waiting.json["id"]
    assert api.post(f"/batches/{batch}/approve", key=k()).status_code == 403  # no approve scope
    _, secret = make_token("read,write,approve")
    approver = Api(client, secret)
    done = approver.post(f"/batches/{batch}/approve", key=k())
    assert done.status_code == 200 and done.json["status"] == "posted"
    assert done.json["resolved_by"].startswith("token:")
    assert balances(api, three) == ["40.00", "30.00", "30.00"]
    assert all(i["transaction"]["batch_id"] == batch for i in done.json["items"])
    again = approver.post(f"/batches/{batch}/approve", key=k())  # decided: answered as it is
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"

    # The maker never decides their own batch; a rejection drops it whole.
    own = approver.post("/batches", {"mode": "independent", "items": payouts(c, [a, b], ["30.00", "30.00"])}, key=k())
    assert own.status_code == 202
    mine = approver.post(f"/batches/{own.json['id']}/approve", key=k())
    assert (mine.status_code, mine.json["code"]) == (403, "maker_cannot_approve")
    _, other = make_token("read,write,approve")
    dropped = Api(client, other).post(f"/batches/{own.json['id']}/reject", {"reason": "not today"}, key=k())
    assert dropped.status_code == 200 and dropped.json["status"] == "rejected"
    assert {i["status"] for i in dropped.json["items"]} == {"rejected"}
    assert balances(api, three) == ["40.00", "30.00", "30.00"]
    late = Api(client, other).post(f"/batches/{own.json['id']}/approve", key=k())
    assert (late.status_code, late.json["code"]) == (422, "not_awaiting_approval")


def test_a_waiting_batch_expires_as_an_approval_request_does(client, api, three, make_token, session):
    """Past its expiry (APPROVAL_EXPIRES_DAYS) a waiting batch can be neither approved nor
    rejected, leaves the approvals count, and expire-holds marks it and its items expired."""
    a, b, c = three
    rates.set_threshold("USD", "50.00", actor=FINANCE)
    waiting = api.post("/batches", {"mode": "atomic", "items": payouts(a, [b, c], ["30.00", "30.00"])}, key=k())
    batch = waiting.json["id"]
    assert waiting.status_code == 202 and waiting.json["expires_at"] > waiting.json["created_at"]
    _, secret = make_token("read,write,approve")
    approver = Api(client, secret)
    assert [w["id"] for w in batches.awaiting()] == [batch]
    session.execute(text("UPDATE batches SET expires_at = now() - interval '1 second' WHERE id = :b"), {"b": batch})
    for action, body in (("approve", None), ("reject", {"reason": "late"})):
        late = approver.post(f"/batches/{batch}/{action}", body, key=k())
        assert (late.status_code, late.json["code"]) == (422, "not_awaiting_approval"), late.json
        assert f"Batch {batch} is expired" in late.json["detail"]
    assert balances(api, three) == ["100.00", "0.00", "0.00"]
    assert batches.awaiting() == []
    expire_holds = Actor(scope="cli", name="expire-holds")
    assert batches.expire_waiting(actor=expire_holds) == 1
    ended = api.get(f"/batches/{batch}").json
    assert ended["status"] == "expired" and {i["status"] for i in ended["items"]} == {"expired"}
    assert ended["resolved_by"] == "expire-holds"
    assert batches.expire_waiting(actor=expire_holds) == 0
    assert balances(api, three) == ["100.00", "0.00", "0.00"]


def test_a_batch_racing_single_transfers_never_overdraws_nor_deadlocks(committing_app):
    """Batches lock every wallet they touch in ascending id order before any item, as single
    movements do: no deadlock reaches a client, and no balance goes below zero."""
    with committing_app.app_context():
        cli = Actor("cli", "cli")
        _, secret = create_token("race", "read,write", actor=cli)
        svc = ledger_api()
        a, b, c = (svc.create_wallet(n, "USD", actor=cli)["id"] for n in ("A", "B", "C"))
        svc.fund(a, "100.00", idempotency_key="seed", actor=cli)
    answers, lock, start = [], threading.Lock(), threading.Barrier(7)

    def send(path, body):
        r = committing_app.test_client().post(
            "/api/v1" + path, json=body, headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": k()}
        )
        with lock:
            answers.append((r.status_code, r.json.get("status"), r.json.get("code")))

    def batches():
        start.wait()
        for _ in range(10):
            items = payouts(a, [b, c, b], ["1.00", "1.00", "1.00"]) + payouts(c, [a], ["0.50"])
            send("/batches", {"mode": "independent", "items": items})

    def singles(src, dst):
        start.wait()
        for _ in range(20):
            send("/transfers", {"from_wallet_id": src, "to_wallet_id": dst, "amount": "2.00"})

    threads = [threading.Thread(target=batches) for _ in range(3)]
    threads += [threading.Thread(target=singles, args=p) for p in ((a, b), (b, c), (c, a), (a, c))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    # Posted, or refused for want of funds: never a 5xx, never a deadlock's error.
    assert {s for s, *_ in answers} <= {201, 422} and {c for s, _, c in answers if s == 422} <= {"insufficient_funds"}
    assert sum(1 for _, status, _ in answers if status in ("posted", "partially_posted")) >= 1
    with committing_app.app_context():
        final = [Decimal(ledger_api().get_wallet(w)["balance"]) for w in (a, b, c)]
    assert min(final) >= 0 and sum(final) == Decimal("100.00")


def test_an_item_naming_no_wallet_is_refused_with_its_amount_as_asked(api, funded):
    """Its wallet does not exist, so no currency to write its amount in: shown as sent."""
    a, b = funded
    answer = api.post(
        "/batches",
        {
            "mode": "independent",
            "items": [
                {"kind": "transfer", "from_wallet_id": 140467027, "to_wallet_id": b, "amount": "1"},
                {"kind": "transfer", "from_wallet_id": a, "to_wallet_id": b, "amount": "2.50"},
            ],
        },
        key="ghost",
    )
    assert answer.status_code == 201, answer.json
    ghost, real = answer.json["items"]
    assert (ghost["status"], ghost["error"]["code"], ghost["amount"], ghost["currency"]) == (
        "refused",
        "not_found",
        "1",
        None,
    )
    assert (real["status"], real["amount"]) == ("posted", "2.50")


def _waiting_for_locks(app) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar()


def _finishes_or_waits(app, call, waiting: int = 0) -> tuple[threading.Thread, dict, str]:
    """Run `call` in a thread until it finishes ("done") or waits for a row lock ("waits"),
    `waiting` sessions waiting already."""
    got = {}
    thread = threading.Thread(target=lambda: got.update(r=call()))
    thread.start()
    for _ in range(600):
        if not thread.is_alive():
            return thread, got, "done"
        if _waiting_for_locks(app) > waiting:
            return thread, got, "waits"
        time.sleep(0.05)
    raise AssertionError("neither finished nor waited for a lock in 30 s")


def test_a_batch_waiting_for_a_busy_wallet_holds_none_of_its_others(committing_app):
    """A batch blocked on one wallet holds no other meanwhile: a transfer between two of its
    other wallets posts at once (a batch that waited holding the lower part of its set locked
    stalled everything behind it); and a batch of plain transfers never waits on a system
    wallet it does not move money through."""
    with committing_app.app_context():
        cli = Actor("cli", "cli")
        _, secret = create_token("busy", "read,write", actor=cli)
        svc = ledger_api()
        a, b, c, d = (svc.create_wallet(n, "USD", actor=cli)["id"] for n in ("A", "B", "C", "D"))
        for w in (a, c):
            svc.fund(w, "10.00", idempotency_key=f"seed-{w}", actor=cli)
        world = db.session.scalar(
            text("SELECT id FROM wallets WHERE system_purpose = 'world' AND currency = 'USD' ORDER BY id LIMIT 1")
        )
    auth = {"Authorization": f"Bearer {secret}"}

    def post(path, body):
        return committing_app.test_client().post("/api/v1" + path, json=body, headers={**auth, "Idempotency-Key": k()})

    with committing_app.app_context(), db.engine.connect() as holder:
        holder.execute(text("SELECT 1 FROM wallets WHERE id IN (:d, :world) FOR UPDATE"), {"d": d, "world": world})
        # A batch of plain transfers touches no system wallet: the held `world` row is not its.
        plain, done, state = _finishes_or_waits(
            committing_app, lambda: post("/batches", {"mode": "atomic", "items": payouts(a, [b], ["1.00"])})
        )
        if state == "waits":
            holder.rollback()
            plain.join()
        assert state == "done" and done["r"].status_code == 201 and done["r"].json["status"] == "posted"

        items = payouts(a, [b], ["1.00"]) + payouts(c, [d], ["2.00"])
        batch, answer, state = _finishes_or_waits(
            committing_app, lambda: post("/batches", {"mode": "atomic", "items": items})
        )
        assert state == "waits"  # for D
        single, posted, state = _finishes_or_waits(
            committing_app,
            lambda: post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "3.00"}),
            waiting=1,
        )
        holder.rollback()
        single.join()
        assert state == "done" and posted["r"].status_code == 201  # A and B were not held by the waiting batch
    batch.join(30)
    assert not batch.is_alive() and answer["r"].status_code == 201 and answer["r"].json["status"] == "posted"
    with committing_app.app_context():
        final = [Decimal(ledger_api().get_wallet(w)["balance"]) for w in (a, b, c, d)]
    assert final == [Decimal("5.00"), Decimal("5.00"), Decimal("8.00"), Decimal("2.00")]
