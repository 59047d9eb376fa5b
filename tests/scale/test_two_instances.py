"""Two app instances (separate gunicorn masters) behind HAProxy, through PgBouncer to the
primary and reading from the replica, sharing Redis: any instance serves any request, and
killing one mid-load loses no acknowledged transfer; a retry with the same Idempotency-Key
gets the first result."""

import http.client
import json
import os
import random
import subprocess
import threading
import time
import uuid
from contextlib import closing
from decimal import Decimal

import psycopg
import pytest
import redis
import requests

from tests import bank
from tests.conftest import DOUBLE_ENTRY_VIOLATIONS, csrf_from, make_app
from tests.scale.servers import HAProxy, Instance, PgBouncer
from wallet_app.extensions import db
from wallet_app.services.audit import Actor
from wallet_app.services.operators import create_operator
from wallet_app.services.tokens import create_token

PASSWORD = "correct horse battery staple"
SECONDS = 10  # of load; one instance dies a third of the way in


@pytest.fixture
def deployment(replicated, database):
    """HAProxy -> instances a and b -> PgBouncer -> primary (reads: the replica), Redis shared
    under a prefix of this test's own: (haproxy, {name: instance}, bearer token, operator email)."""
    prefix = f"scale-test-{uuid.uuid4().hex[:8]}"
    email = f"sam-{prefix}@example.com"
    app = make_app(database.url)
    with app.app_context():
        _, secret = create_token(f"two-instances-{uuid.uuid4().hex[:6]}", "read,write", actor=Actor("cli", "cli"))
        create_operator(email, PASSWORD, "support", actor=Actor("cli", "cli"))
        db.engine.dispose()
    bouncer = PgBouncer(replicated.primary.port)
    env = {
        **os.environ,
        "DATABASE_URL": bouncer.url(database.name),
        "DB_PREPARE_THRESHOLD": "none",
        "REPLICA_DATABASE_URL": database.replica_url,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": prefix,
        "SECRET_KEY": uuid.uuid4().hex,
        "SESSION_COOKIE_SECURE": "0",
        "API_RATE_LIMIT": "1000000/minute",
        "API_AUTH_FAILURE_LIMIT": "6/minute",
        "WEB_THREADS": "4",
        "DB_POOL_SIZE": "4",
        "PYTHONPATH": str(bank.ROOT),
    }
    instances, haproxy = {}, None
    try:
        for name in ("a", "b"):
            instances[name] = Instance(env)
        haproxy = HAProxy({name: i.port for name, i in instances.items()})
        yield haproxy, instances, secret, email
    finally:
        if haproxy is not None:
            haproxy.stop()
        for instance in instances.values():
            instance.stop()
        bouncer.stop()
        shared = redis.Redis(host="127.0.0.1", port=6379)
        for key in shared.scan_iter(f"{prefix}:*"):
            shared.delete(key)


def call(port: int, method: str, path: str, token: str | None, body=None, key=None):
    """(status, JSON body, headers) of one request on a connection of its own. HAProxy writes the
    names of headers it adds in lower case: `headers` finds them in any case."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None, response.headers  # any case
    finally:
        conn.close()


def test_instances_share_limits_and_console_sessions(deployment):
    haproxy, instances, _, email = deployment
    a, b = instances["a"].port, instances["b"].port
    # Failed authentications from one address count in Redis, whichever instance saw them.
    for port in (a, b, a, b, a, b):
        assert call(port, "GET", "/api/v1/wallets", "wlt_wrong")[0] == 401
    assert call(a, "GET", "/api/v1/wallets", "wlt_wrong")[0] == 429
    # A console session made on one instance opens pages on the other (sessions live in the database).
    browser = requests.Session()
    token = csrf_from(browser.get(f"http://127.0.0.1:{a}/auth/login").text)
    signed = browser.post(
        f"http://127.0.0.1:{a}/auth/login",
        allow_redirects=False,
        data={"email": email, "password": PASSWORD, "csrf_token": token},
    )
    assert signed.status_code == 303
    assert browser.get(f"http://127.0.0.1:{b}/wallets", allow_redirects=False).status_code == 200
    # The balancer spreads requests over both.
    served = {call(haproxy.port, "GET", "/readyz", None)[2]["X-Backend"] for _ in range(6)}
    assert served == {"a", "b"}


def test_killing_an_instance_mid_load_loses_no_acknowledged_transfer(deployment, database):
    haproxy, instances, token, _ = deployment
    api = bank.Api(haproxy.port, token)
    wallets = []
    for i in range(20):
        status, w = api.call("POST", "/api/v1/wallets", {"owner_name": f"Scale {i}", "currency": "USD"})
        assert status == 201, w
        assert (
            api.call("POST", f"/api/v1/wallets/{w['id']}/fund", {"amount": "1000.00"}, key=str(uuid.uuid4()))[0] == 201
        )
        wallets.append(w["id"])
    stats, sent = bank.Stats(), {}  # sent: key -> (path, body)
    stop, deadline = threading.Event(), time.monotonic() + SECONDS

    def client(n: int) -> None:
        rng = random.Random(n)
        while not stop.is_set():
            src, dst = rng.sample(wallets[1:], 2)  # wallets[0]: kill_with_transfers_in_flight
            body = {"from_wallet_id": src, "to_wallet_id": dst, "amount": f"{rng.randint(1, 500) / 100:.2f}"}
            key = str(uuid.uuid4())
            with stats.lock:
                stats.attempted += 1
                sent[key] = ("/api/v1/transfers", body)
            bank.post_until_answered(api, stats, "transfer", "/api/v1/transfers", body, key, deadline + 30, src, dst)

    def reader() -> None:  # the economy's total never changes, read from the replica or not
        while not stop.is_set():
            bank.check_totals(api, stats, {"USD": Decimal("20000.00")}, set(wallets))
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    time.sleep(SECONDS / 3)
    held = kill_with_transfers_in_flight(instances["a"], database.url, api, token, stats, sent, wallets)
    acknowledged_before_kill = len(stats.acknowledged)
    time.sleep(SECONDS * 2 / 3)
    stop.set()
    for t in threads:
        t.join(60)

    assert held <= stats.retried_keys and held <= set(stats.acknowledged)  # answered by b, once
    assert acknowledged_before_kill > 0 and len(stats.acknowledged) > acknowledged_before_kill
    assert stats.unresolved == [] and stats.refused == {}
    assert len(stats.acknowledged) == stats.attempted
    assert stats.total_checks > 0 and stats.total_violations == []
    assert {call(haproxy.port, "GET", "/readyz", None)[2]["X-Backend"] for _ in range(4)} == {"b"}

    # A retry with the same key, after the fact: the first result, marked as a replay.
    for key, (tx_id, *_rest) in stats.acknowledged.items():
        path, body = sent[key]
        status, data, headers = call(haproxy.port, "POST", path, token, body, key)
        assert (status, data["id"], headers.get("Idempotent-Replayed")) == (201, tx_id, "true")

    with closing(psycopg.connect(database.url)) as conn:
        rows = conn.execute("""SELECT k.key, t.id, t.amount, t.source_wallet_id, t.dest_wallet_id
            FROM idempotency_keys k JOIN transactions t ON t.id = k.transaction_id
            WHERE t.kind = 'transfer'""").fetchall()
        assert conn.execute(DOUBLE_ENTRY_VIOLATIONS).fetchone()[0] == 0
    moved = {key: (tx_id, "transfer", f"{amount:.2f}", src, dst) for key, tx_id, amount, src, dst in rows}
    assert moved == stats.acknowledged  # each acknowledged transfer once, and nothing else
    env = {**os.environ, "DATABASE_URL": database.url, "FLASK_DEBUG": "1"}
    reconcile = subprocess.run(
        [str(bank.ROOT / ".venv/bin/flask"), "--app", "wsgi", "reconcile"],
        cwd=bank.ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    print(
        f"\n{len(stats.acknowledged)} transfers acknowledged ({acknowledged_before_kill} before the kill), "
        f"{stats.retries} retries of {len(stats.retried_keys)} keys"
    )


def kill_with_transfers_in_flight(instance, url: str, api, token: str, stats, sent: dict, wallets: list) -> set:
    """SIGKILL `instance` while it certainly has transfers in flight: four of them, sent to it
    directly, wait in ledger_post() for a lock the test holds on their source wallet. Each
    client then retries through the balancer with the same key; the lock goes after the kill
    (a backend of the dead instance may still commit: its retry must be a replay). Returns
    their keys."""
    source, keys, direct = wallets[0], set(), bank.Api(instance.port, token, timeout=30)

    def send(dest: int) -> None:
        key, body = str(uuid.uuid4()), {"from_wallet_id": source, "to_wallet_id": dest, "amount": "1.00"}
        with stats.lock:
            stats.attempted += 1
            sent[key] = ("/api/v1/transfers", body)
            keys.add(key)
        try:
            status, _ = direct.call("POST", "/api/v1/transfers", body, key=key)
        except (OSError, http.client.HTTPException):
            status = None
        assert status is None, status  # the instance died before answering
        with stats.lock:
            stats.retries += 1
            stats.retried_keys.add(key)
        bank.post_until_answered(
            api, stats, "transfer", "/api/v1/transfers", body, key, time.monotonic() + 60, source, dest
        )

    with closing(psycopg.connect(url)) as lock:
        lock.execute("SELECT 1 FROM wallets WHERE id = %s FOR UPDATE", (source,))
        senders = [threading.Thread(target=send, args=(dest,)) for dest in wallets[1:5]]
        for t in senders:
            t.start()
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%ledger_post%'"
        with closing(psycopg.connect(url, autocommit=True)) as watch:
            deadline = time.monotonic() + 10
            while watch.execute(waiting).fetchone()[0] < len(senders):
                assert time.monotonic() < deadline, "the transfers never reached the lock"
                time.sleep(0.02)
        instance.kill()
        time.sleep(0.5)  # the retries reach the other instance and wait too
        lock.rollback()
    for t in senders:
        t.join(60)
    return keys
