"""Webhooks against a real receiver on 127.0.0.1: failures retried under the same webhook-id
until accepted, signatures that verify with the standardwebhooks package, each wallet's
events in sequence order, a worker SIGKILLed mid-delivery replaced without losing an event,
two workers never sending one event at the same time."""

import json
import signal
import threading
import time
import uuid

import pytest
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from tests.conftest import make_app
from tests.receiver import Receiver, start_worker, stop_worker
from wallet_app.events import delivery, webhooks, worker
from wallet_app.extensions import db
from wallet_app.ledger import operations
from wallet_app.services.audit import Actor

ACTOR = Actor(scope="cli", name="cli")
FAST = {"WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_RETRY_BASE_S": 0.05, "WEBHOOK_TIMEOUT_S": 0.5}


@pytest.fixture
def receiver():
    made = []

    def make(*args, **kw):
        made.append(Receiver(*args, **kw))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def hook_app(fresh_database_url):
    app = make_app(fresh_database_url(), **FAST)
    yield app
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def pending(app) -> int:
    with app.app_context():
        try:
            return db.session.scalar(text("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"))
        finally:
            db.session.remove()


def wait_for(condition, seconds=30.0, what="condition"):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def movements(app, n_transfers=3):
    """Two wallets, a funding and transfers between them: the events they write."""
    with app.app_context():
        a = operations.create_wallet("Alice", "USD", actor=ACTOR)["id"]
        b = operations.create_wallet("Bob", "USD", actor=ACTOR)["id"]
        operations.fund(a, "100.00", idempotency_key=str(uuid.uuid4()), actor=ACTOR)
        for i in range(n_transfers):
            src, dst = (a, b) if i % 2 == 0 else (b, a)
            operations.transfer(src, dst, "1.00", idempotency_key=str(uuid.uuid4()), actor=ACTOR)
        db.session.remove()
    return a, b


def sequenced(app) -> dict:
    """Every event in the feed: public id -> (type, seq, wallets)."""
    with app.app_context():
        try:
            return {
                r.public_id: (r.type, r.seq, list(r.wallet_ids))
                for r in db.session.execute(
                    text("SELECT 'evt_' || id AS public_id, type, seq, wallet_ids FROM events WHERE seq > 0")
                )
            }
        finally:
            db.session.remove()


def test_failures_are_retried_under_one_webhook_id_until_accepted_in_order_per_wallet(hook_app, receiver):
    rx = receiver(script=["500", "hang", "close"], hang=1.0)  # hang: past the 0.5 s timeout
    with hook_app.app_context():
        endpoint = webhooks.create(rx.url, actor=ACTOR)
        db.session.remove()
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    a, b = movements(hook_app)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(hook_app,), kwargs={"stop": stop})
    thread.start()
    try:
        events = {}

        def all_in():
            events.update(sequenced(hook_app))
            return events and pending(hook_app) == 0

        wait_for(all_in, what="every delivery to end")
    finally:
        stop.set()
        thread.join(10)
    accepted = rx.accepted()
    ids = [r["headers"]["webhook-id"] for r in accepted]
    assert sorted(ids) == sorted(events)  # every event arrived, each once
    for r in rx.requests:
        if r["action"] != "close":
            assert Webhook(secret).verify(r["body"], r["headers"])["id"] == r["headers"]["webhook-id"]
    # The first event was tried four times (500, timeout, connection closed, accepted), always
    # under its own webhook-id and body.
    first = rx.requests[0]["headers"]["webhook-id"]
    tries = [r for r in rx.requests if r["headers"]["webhook-id"] == first]
    assert [r["action"] for r in tries] == ["500", "hang", "close", "ok"]
    assert len({r["body"] for r in tries}) == 1
    # Each wallet's events arrived in sequence order.
    for wallet in (a, b):
        order = [events[i][1] for i in ids if wallet in events[i][2]]
        assert order == sorted(order) and len(order) >= 3
    with hook_app.app_context():
        attempts = webhooks.attempts(endpoint["id"], limit=200)
        db.session.remove()
    assert {x["code"] for x in attempts} >= {500, 200, None}
    assert any("timed out" in (x["error"] or "") for x in attempts)


def test_a_rotated_secret_signs_beside_the_new_one(hook_app, receiver):
    rx = receiver()
    with hook_app.app_context():
        endpoint = webhooks.create(rx.url, event_types=["wallet.created"], actor=ACTOR)
        rotated = webhooks.rotate_secret(endpoint["id"], actor=ACTOR)
        operations.create_wallet("Carol", "USD", actor=ACTOR)
        worker.run(hook_app, once=True)
        db.session.remove()
    (r,) = rx.accepted()
    for secret in (endpoint["secret"], rotated["secret"]):
        assert Webhook(secret).verify(r["body"], r["headers"])["type"] == "wallet.created"


def test_private_receivers_are_refused_unless_allowed(fresh_database_url, receiver):
    rx = receiver()
    app = make_app(fresh_database_url(), WEBHOOK_ALLOW_PRIVATE=False)
    with app.app_context():
        for url in (rx.url, rx.url.replace("http://", "https://"), "https://localhost/hooks", "https://[::1]/"):
            with pytest.raises(Exception) as refused:
                webhooks.create(url, actor=ACTOR)
            assert refused.value.field == "url", url
        assert "https" in refused.value.message or "private" in refused.value.message
        answer = delivery.send(rx.url, b"{}", {}, timeout=1, max_bytes=100, allow_private=False)
        assert answer.code is None and "private, loopback" in answer.error
        assert rx.requests == []
        redirect = delivery.send("ftp://example.com/", b"{}", {}, timeout=1, max_bytes=100, allow_private=False)
        assert redirect.error == "not an http(s) URL"
        db.engine.dispose()


def test_a_worker_killed_mid_delivery_loses_nothing(hook_app, receiver):
    rx = receiver(script=["hang"], hang=20.0)  # the first attempt never ends while its worker lives
    url = hook_app.config["SQLALCHEMY_DATABASE_URI"]
    with hook_app.app_context():
        webhooks.create(rx.url, event_types=["wallet.created"], actor=ACTOR)
        operations.create_wallet("Dana", "USD", actor=ACTOR)
        db.session.remove()
    first = start_worker(url, WEBHOOK_TIMEOUT_S="2")
    second = None
    try:
        wait_for(lambda: rx.requests, what="the first attempt")
        killed_at = time.monotonic()
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = start_worker(url, WEBHOOK_TIMEOUT_S="2")
        wait_for(lambda: pending(hook_app) == 0, what="the retry")
        retried = time.monotonic() - killed_at
    finally:
        stop_worker(first)
        if second:
            stop_worker(second)
    ids = {r["headers"]["webhook-id"] for r in rx.requests}
    assert len(rx.requests) == 2 and len(ids) == 1  # the same event, tried again by the other worker
    assert retried < 15  # the lease: the attempt's timeout and a margin


def test_two_workers_never_send_one_event_at_the_same_time(hook_app, receiver):
    rx = receiver(delay=0.05)
    url = hook_app.config["SQLALCHEMY_DATABASE_URI"]
    with hook_app.app_context():
        webhooks.create(rx.url, actor=ACTOR)
        db.session.remove()
    workers = [start_worker(url, WORKER_DELIVERIES="4") for _ in range(2)]
    try:
        for _ in range(4):
            movements(hook_app, n_transfers=4)
        wait_for(lambda: len(sequenced(hook_app)) >= 4 * 7 and pending(hook_app) == 0, 60, "every delivery")
    finally:
        for w in workers:
            stop_worker(w)
    events = sequenced(hook_app)
    ids = [r["headers"]["webhook-id"] for r in rx.requests]
    assert sorted(ids) == sorted(events)  # each event once: no attempt was repeated, none lost
    spans = sorted((r["start"], r["end"], r["headers"]["webhook-id"]) for r in rx.requests)
    open_ = {}
    for start, end, wid in spans:
        assert wid not in open_ or open_[wid] <= start
        open_[wid] = end
    bodies = {json.loads(r["body"])["id"] for r in rx.requests}
    assert bodies == set(events)


def test_what_a_receiver_answers_is_recorded_whatever_it_is(hook_app, receiver):
    """A NUL in the answer (PostgreSQL text holds none), a path that is not ASCII: an attempt
    recorded, never an exception that would leave the delivery retried without backoff."""
    rx = receiver(script=["nul"])
    with hook_app.app_context():
        endpoint = webhooks.create(rx.url, event_types=["wallet.created"], actor=ACTOR)
        operations.create_wallet("Nul", "USD", actor=ACTOR)
        worker.run(hook_app, once=True)
        (attempt,) = webhooks.attempts(endpoint["id"])
        assert (attempt["code"], attempt["body"], attempt["delivery"]) == (200, "ok", "delivered")
        with pytest.raises(Exception) as refused:
            webhooks.create("https://example.com/é", actor=ACTOR)
        assert refused.value.field == "url"
        for bad in ("http://[::1", "https://[nope]/", "https://example.com:99999/", "ftp://example.com/"):
            with pytest.raises(Exception) as refused:
                webhooks.create(bad, actor=ACTOR)
            assert refused.value.field == "url", bad
        answer = delivery.send("http://127.0.0.1:1/\u00e9", b"{}", {}, timeout=1, max_bytes=10, allow_private=True)
        assert answer.code is None and answer.error
        with pytest.raises(Exception) as refused:
            webhooks.redeliver(endpoint["id"], actor=ACTOR, event_id="evt_\x00")
        assert refused.value.field == "event_id"
        db.session.remove()


@pytest.mark.parametrize(
    "address, public",
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.0.0.5", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("::ffff:10.0.0.5", False),
        ("64:ff9b::a00:5", False),
        ("2002:a00:5::1", False),
        ("::10.0.0.5", False),
        ("fe80::1", False),
        ("fec0::1", False),
        ("fd00::1", False),
        ("224.0.0.1", False),
        ("ff02::1", False),
    ],
)
def test_only_public_addresses_are_delivered_to(address, public):
    assert delivery.public_address(address) is public


def test_a_slow_receiver_is_cut_at_the_timeout(receiver):
    """The timeout holds for the whole exchange: a receiver that never answers is cut there,
    so the lease (the timeout and a margin) never ends under a live attempt."""
    rx = receiver(script=["hang"], hang=5.0)
    started = time.monotonic()
    answer = delivery.send(rx.url, b"{}", {"webhook-id": "x"}, timeout=0.5, max_bytes=10, allow_private=True)
    assert answer.code is None and "timed out" in answer.error
    assert time.monotonic() - started < 1.5


def test_a_worker_whose_claims_fail_for_a_while_goes_on_delivering(hook_app, receiver, monkeypatch):
    """The database away for a few rounds (a restart, PgBouncer's login retry): every slot
    comes back, and what was owed is delivered once it answers again."""
    rx = receiver()
    with hook_app.app_context():
        webhooks.create(rx.url, event_types=["wallet.created"], actor=ACTOR)
        db.session.remove()
    failures, real = [5], delivery.claim

    def flaky(limit):
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("the database is away")
        return real(limit)

    monkeypatch.setattr(delivery, "claim", flaky)
    with hook_app.app_context():
        for i in range(12):
            operations.create_wallet(f"Owner {i}", "USD", actor=ACTOR)
        db.session.remove()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(hook_app,), kwargs={"stop": stop})
    thread.start()
    try:
        wait_for(lambda: len(rx.accepted()) == 12, seconds=30, what="every wallet.created delivered")
    finally:
        stop.set()
        thread.join(10)
    assert failures == [0]
