"""Over HTTP: ten simultaneous requests with one Idempotency-Key move money once; throttling."""

import threading
import uuid

import pytest

from tests.conftest import ledger_api
from wallet_app.services.audit import Actor
from wallet_app.services.tokens import create_token


def test_ten_concurrent_requests_with_one_key_move_money_once(committing_app):
    with committing_app.app_context():
        cli = Actor("cli", "cli")
        _, secret = create_token("concurrency", "read,write", actor=cli)
        svc = ledger_api()
        a = svc.create_wallet("A", "USD", actor=cli)["id"]
        b = svc.create_wallet("B", "USD", actor=cli)["id"]
        svc.fund(a, "100.00", idempotency_key="seed", actor=cli)
    barrier, answers = threading.Barrier(10), []
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "one-key-ten-requests"}

    def send():
        client = committing_app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/transfers", json={"from_wallet_id": a, "to_wallet_id": b, "amount": "7.00"}, headers=headers
        )
        answers.append((response.status_code, response.headers.get("Idempotent-Replayed"), response.json))

    threads = [threading.Thread(target=send) for _ in range(10)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    created = [a for a in answers if a[0] == 201 and a[1] is None]
    replayed = [a for a in answers if a[0] == 201 and a[1] == "true"]
    in_flight = [a for a in answers if a[0] == 409]
    assert len(created) == 1 and len(created) + len(replayed) + len(in_flight) == 10
    assert all(r[2] == created[0][2] for r in replayed)
    with committing_app.app_context():
        assert ledger_api().get_wallet(a)["balance"] == "93.00"


def test_tokens_are_throttled_with_retry_after(app, client, make_token):
    _, secret = make_token("read")
    app.config["API_RATE_LIMIT"] = "3/minute"
    try:
        statuses = [client.get("/api/v1/wallets", headers={"Authorization": f"Bearer {secret}"}) for _ in range(4)]
    finally:
        app.config["API_RATE_LIMIT"] = "600/minute"
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    throttled = statuses[-1]
    assert throttled.mimetype == "application/problem+json" and throttled.json["code"] == "rate_limited"
    assert int(throttled.headers["Retry-After"]) > 0


def test_limits_hold_across_workers_when_redis_is_configured(fresh_database_url):
    """Two apps (two gunicorn workers, or two hosts) share one Redis: a token's limit is global."""
    import redis

    from tests.conftest import make_app

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379 (CI and the dev machines have one)")
    url = fresh_database_url()
    prefix = f"test-{uuid.uuid4().hex}"  # this run's keys, apart from any other run's
    workers = [
        make_app(
            url,
            RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
            API_RATE_LIMIT="4/minute",
            RATELIMIT_KEY_PREFIX=prefix,
        )
        for _ in range(2)
    ]
    with workers[0].app_context():
        _, secret = create_token(f"redis-{uuid.uuid4().hex[:6]}", "read", actor=Actor("cli", "cli"))
    headers = {"Authorization": f"Bearer {secret}"}
    statuses = [workers[i % 2].test_client().get("/api/v1/wallets", headers=headers).status_code for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
