"""The bank workload (after Jepsen's): concurrent transfers, holds (captured, voided or left to
expire), reversals, withdrawals and exchanges through the JSON API under faults, with the
house's policy set: approval thresholds, a withdrawal fee, exchange rates with spreads.

Money moves among "economy" wallets by transfers and reversals of transfers, so their total
per currency never changes (a reader checks it all along); withdrawals (which pay a fee) and
their reversals run on separate "payout" wallets, whose final balances must match what was
acknowledged; exchanges run between "trader" wallets. Batches of economy transfers (atomic or
independent, POST /api/v1/batches) run among them too, each item a movement of its own.
Above the threshold a movement (or a batch) waits (202): a checker, a second owner's token
with the `approve` scope, approves what is waiting (or rejects what can no longer post), and
drains the queue at the end.

Used by tests/test_bank.py (short form in `make test`), `make soak` (long form) and the
failover test of tests/ha (its own faults: `run(faults=...)`).
"""

import http.client
import json
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stats:
    attempted: int = 0
    # idempotency key -> (transaction id, kind, amount, source wallet, dest wallet); kind is the
    # movement's, "hold", "request" (answered 202), or the resolution (capture, void, approve, reject)
    acknowledged: dict = field(default_factory=dict)
    fees: dict = field(default_factory=dict)  # idempotency key -> the fee its posting charged
    refused: Counter = field(default_factory=Counter)  # business refusals by code
    retries: int = 0
    retried_keys: set = field(default_factory=set)
    unresolved: list = field(default_factory=list)
    faults: list = field(default_factory=list)
    total_checks: int = 0
    total_violations: list = field(default_factory=list)
    ready_after_restart: list = field(default_factory=list)
    batched: dict = field(default_factory=dict)  # an item's key -> its batch's id
    batch_modes: Counter = field(default_factory=Counter)
    acked_at: list = field(default_factory=list)  # time.monotonic() of each acknowledgement
    lock: threading.Lock = field(default_factory=threading.Lock)


class Api:
    """A tiny JSON client: one connection per call, so a killed worker costs one request."""

    def __init__(self, port: int, token: str, timeout: float = 5.0):
        self.port, self.token, self.timeout = port, token, timeout

    def call(self, method: str, path: str, body=None, key: str | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            is_json = "json" in (response.getheader("Content-Type") or "")
            return response.status, (json.loads(data) if data and is_json else None)
        finally:
            conn.close()


class Gunicorn:
    def __init__(self, port: int, env: dict):
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def kill_random_worker(self, rng) -> int | None:
        workers = self.workers()
        if not workers:
            return None
        pid = rng.choice(workers)
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_ready(port: int, limit: float = 30.0) -> float:
    """Seconds until /readyz answers 200 (raises after `limit`)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"/readyz not ready within {limit}s")


def send_until_answered(api: Api, stats: Stats, path: str, body: dict, key: str, deadline: float, answered):
    """POST until `answered(status, data)`, retrying with the same key on timeouts, dropped
    connections and 5xx, as a real integration would; (status, data), or (None, None) once
    `deadline` passes or an answer is neither (kept in stats.unresolved)."""
    tries = 0
    while True:
        tries += 1
        try:
            status, data = api.call("POST", path, body, key=key)
        except (OSError, http.client.HTTPException):
            status, data = None, None
        if status is not None and answered(status, data):
            return status, data
        if status not in (None, 429, 500, 502, 503, 504) or time.monotonic() > deadline:
            with stats.lock:
                stats.unresolved.append((key, status, data))
            return None, None
        with stats.lock:
            stats.retries += 1
            stats.retried_keys.add(key)
        time.sleep(min(0.05 * tries, 0.5))


def post_until_answered(
    api: Api, stats: Stats, kind: str, path: str, body: dict, key: str, deadline: float, src=None, dst=None
) -> dict | None:
    """Send one movement until it is answered; return the transaction when it was acknowledged."""
    status, data = send_until_answered(
        api, stats, path, body, key, deadline, lambda status, _: status in (200, 201, 202, 422)
    )
    if status in (200, 201, 202):
        amount = data["held_amount"] if kind == "hold" and status == 201 else data["amount"]
        seen = "request" if status == 202 else kind
        if kind in ("approve", "reject"):
            src, dst = data["source_wallet_id"], data["dest_wallet_id"]
        with stats.lock:
            stats.acknowledged[key] = (data["id"], seen, amount, src, dst)
            stats.acked_at.append(time.monotonic())
            if data["status"] == "posted":
                stats.fees[key] = Decimal(data["fee"])
        return data if status != 202 else None
    if status == 422:
        with stats.lock:
            stats.refused[data.get("code")] += 1
    return None


def post_batch_until_answered(
    api: Api, stats: Stats, path: str, body: dict, key: str, items: list, deadline: float, waiting: list
) -> str:
    """Send a batch (or a decision on one) until it is answered, and account for each of its
    items: posted (acknowledged under its own key, `<key>:<i>`, as a transfer), refused (by
    its code), or waiting (202: the batch goes to the checker, `waiting`). Returns the
    outcome: posted, waiting, refused (an atomic batch's refusal, its items not counted yet:
    the caller decides), rejected or unresolved."""
    status, data = send_until_answered(
        api,
        stats,
        path,
        body,
        key,
        deadline,
        lambda status, data: status in (200, 201, 202) or (status == 422 and data.get("code") == "batch_refused"),
    )
    if status is None:
        return "unresolved"
    if status == 422:
        return "refused"
    if status == 202:
        with stats.lock:
            waiting.append((data["id"], items))
        return "waiting"
    with stats.lock:
        stats.acked_at.append(time.monotonic())
        if data["status"] == "rejected":
            stats.refused["batch_rejected"] += len(items)
            return "rejected"
        for item in data["items"]:
            item_key, src, dst = items[item["index"]]
            if item["status"] == "posted":
                tx = item["transaction"]
                stats.acknowledged[item_key] = (tx["id"], "transfer", tx["amount"], src, dst)
                stats.batched[item_key] = data["id"]
            else:
                stats.refused[item["error"]["code"]] += 1
    return "posted"


def decide_batches(checker: Api, stats: Stats, waiting: list, deadline: float) -> int:
    """The checker approves each waiting batch; one that cannot post now (atomic, an item
    refused) it rejects. How many it decided."""
    with stats.lock:
        batches, waiting[:] = list(waiting), []
    for batch_id, items in batches:
        path = f"/api/v1/batches/{batch_id}"
        if post_batch_until_answered(checker, stats, path + "/approve", {}, str(uuid.uuid4()), items, deadline, []) == (
            "refused"
        ):
            reason = {"reason": "bank test: cannot post now"}
            post_batch_until_answered(checker, stats, path + "/reject", reason, str(uuid.uuid4()), items, deadline, [])
    return len(batches)


def check_totals(api: Api, stats: Stats, expected: dict, economy: set) -> None:
    """One list call is one SELECT, a consistent snapshot: the economy's total per currency
    never changes."""
    try:
        status, data = api.call("GET", "/api/v1/wallets?limit=200")
    except (OSError, http.client.HTTPException):
        return
    if status != 200:
        return
    totals = Counter()
    for w in data["data"]:
        if w["id"] in economy:
            totals[w["currency"]] += Decimal(w["balance"])
    with stats.lock:
        stats.total_checks += 1
        if dict(totals) != expected:
            stats.total_violations.append(dict(totals))


def decide(api: Api, stats: Stats, deadline: float) -> int:
    """The checker's pass over what awaits approval: approve each (a second owner), or reject
    it when the engine refuses to post it now (its funds went meanwhile). How many it decided."""
    try:
        status, data = api.call("GET", "/api/v1/approvals?limit=100")
    except (OSError, http.client.HTTPException):
        return 0
    if status != 200:
        return 0
    decided = 0
    for request in data["data"]:
        with stats.lock:
            stats.attempted += 1
        tx = post_until_answered(
            api, stats, "approve", f"/api/v1/transactions/{request['id']}/approve", {}, str(uuid.uuid4()), deadline
        )
        if tx is None and request["status"] == "awaiting_approval":
            with stats.lock:
                stats.attempted += 1
            post_until_answered(
                api,
                stats,
                "reject",
                f"/api/v1/transactions/{request['id']}/reject",
                {"reason": "bank test: cannot post now"},
                str(uuid.uuid4()),
                deadline,
            )
        decided += 1
    return decided


@dataclass
class Target:
    """What a fault injector acts on: the app's gunicorn and port, the run's stats and length,
    and the event that ends the run (an injector returns once it is set)."""

    server: Gunicorn
    port: int
    stats: Stats
    stop: threading.Event
    seconds: float
    rng: random.Random


def restarts_and_kills(cluster):
    """The faults of tests/test_bank.py: a gunicorn worker SIGKILLed every 2-4 s, and `cluster`
    (tests/pg.py) restarted fast at 30% of the run, immediately at 65%."""

    def inject(t: Target) -> None:
        restarts = [("fast", t.seconds * 0.3), ("immediate", t.seconds * 0.65)]
        started = time.monotonic()
        next_kill = started + 2
        while not t.stop.is_set():
            now = time.monotonic()
            if restarts and now - started >= restarts[0][1]:
                mode, _ = restarts.pop(0)
                cluster.restart(mode)
                t.stats.faults.append(f"postgres restart ({mode})")
                t.stats.ready_after_restart.append(round(wait_ready(t.port), 2))
            elif now >= next_kill:
                pid = t.server.kill_random_worker(t.rng)
                if pid:
                    t.stats.faults.append(f"SIGKILL worker {pid}")
                next_kill = now + t.rng.uniform(2, 4)
            time.sleep(0.1)

    return inject


def longest_silence(stats: Stats) -> float:
    """The longest time between two acknowledgements (seconds without writes)."""
    times = sorted(stats.acked_at)
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def run(
    database_url: str, seconds: float, faults, clients: int = 16, wallets: int = 50, seed: int = 1, log=print
) -> tuple[Stats, dict]:
    """Run the workload while `faults(Target)` injects faults in a thread of its own; return the
    stats and the wallets' expected totals. The database's policy (thresholds, fees, rates) is
    the caller's to set."""
    from tests.pg import _free_port

    rng = random.Random(seed)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bank-test-" + uuid.uuid4().hex,
        "BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "4",
        "WEB_THREADS": "4",
        "DB_POOL_SIZE": "4",
        "API_RATE_LIMIT": "1000000/minute",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    token, checker_token = (
        subprocess.run(
            [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "create-token", name, "--scopes", scopes],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
        for name, scopes in (("bank-test", "read,write"), ("bank-checker", "read,write,approve"))
    )
    server = Gunicorn(port, env)
    stats = Stats()
    try:
        wait_ready(port)
        api, checker = Api(port, token), Api(port, checker_token)
        ids, payouts, traders, expected = [], [], {"USD": [], "EUR": []}, Counter()
        for i in range(wallets + 8):
            currency = "USD" if i % 2 == 0 else "EUR"
            status, w = api.call("POST", "/api/v1/wallets", {"owner_name": f"Bank {i}", "currency": currency})
            assert status == 201, (status, w)
            status, _ = api.call(
                "POST", f"/api/v1/wallets/{w['id']}/fund", {"amount": "1000.00"}, key=str(uuid.uuid4())
            )
            assert status == 201
            if i < wallets:
                ids.append((w["id"], currency))
                expected[currency] += Decimal("1000.00")
            elif i < wallets + 4:
                payouts.append(w["id"])
            else:
                traders[currency].append(w["id"])
        expected, economy = dict(expected), {w for w, _ in ids}
        by_currency = {c: [w for w, cur in ids if cur == c] for c in expected}
        stop = threading.Event()
        deadline = time.monotonic() + seconds
        done = {"transfer": [], "withdrawal": []}  # acknowledged, to reverse
        holds = []  # acknowledged pending transfers, each resolved by one client at most
        waiting_batches = []  # batches answered 202, for the checker

        def client(n):
            crng = random.Random(seed * 1000 + n)
            while not stop.is_set():
                roll = crng.random()
                key, late = str(uuid.uuid4()), deadline + 60
                with stats.lock:
                    stats.attempted += 1
                    reversible = {k: list(v) for k, v in done.items()}
                if roll < 0.12 and reversible["transfer"] or 0.12 <= roll < 0.16 and reversible["withdrawal"]:
                    original = crng.choice(reversible["transfer" if roll < 0.12 else "withdrawal"])
                    part = f"{crng.randint(1, int(Decimal(original['amount']) * 100)) / 100:.2f}"
                    post_until_answered(
                        api,
                        stats,
                        "reversal",
                        f"/api/v1/transactions/{original['id']}/reversals",
                        {"amount": part, "reason": "bank test"},
                        key,
                        late,
                        original["dest_wallet_id"],
                        original["source_wallet_id"],
                    )
                elif roll < 0.30 and holds:
                    with stats.lock:
                        held = holds.pop(crng.randrange(len(holds))) if holds else None
                    if held is None:
                        with stats.lock:
                            stats.attempted -= 1
                        continue
                    if crng.random() < 0.6:  # capture all or part; some have expired by now (422)
                        part = f"{crng.randint(1, int(Decimal(held['amount']) * 100)) / 100:.2f}"
                        post_until_answered(
                            api,
                            stats,
                            "capture",
                            f"/api/v1/transfers/{held['id']}/capture",
                            {"amount": part},
                            key,
                            late,
                            held["source_wallet_id"],
                            held["dest_wallet_id"],
                        )
                    else:
                        post_until_answered(
                            api,
                            stats,
                            "void",
                            f"/api/v1/transfers/{held['id']}/void",
                            {},
                            key,
                            late,
                            held["source_wallet_id"],
                            held["dest_wallet_id"],
                        )
                elif roll < 0.36:
                    cur = crng.choice(sorted(by_currency))
                    src, dst = crng.sample(by_currency[cur], 2)
                    amount = f"{crng.randint(1, 30000) / 100:.2f}"
                    tx = post_until_answered(
                        api,
                        stats,
                        "hold",
                        "/api/v1/transfers",
                        {
                            "from_wallet_id": src,
                            "to_wallet_id": dst,
                            "amount": amount,
                            "pending": True,
                            "expires_in": crng.randint(1, 4),
                        },
                        key,
                        late,
                        src,
                        dst,
                    )
                    if tx:
                        with stats.lock:
                            holds.append(tx)
                elif roll < 0.42:
                    src_cur = crng.choice(["USD", "EUR"])
                    src = crng.choice(traders[src_cur])
                    dst = crng.choice(traders["EUR" if src_cur == "USD" else "USD"])
                    amount = f"{crng.randint(1, 20000) / 100:.2f}"
                    post_until_answered(
                        api,
                        stats,
                        "exchange",
                        "/api/v1/transfers",
                        {"from_wallet_id": src, "to_wallet_id": dst, "amount": amount},
                        key,
                        late,
                        src,
                        dst,
                    )
                elif roll < 0.50:
                    wallet = crng.choice(payouts)
                    amount = f"{crng.randint(1, 5000) / 100:.2f}"
                    tx = post_until_answered(
                        api,
                        stats,
                        "withdrawal",
                        f"/api/v1/wallets/{wallet}/withdrawals",
                        {"amount": amount},
                        key,
                        late,
                        wallet,
                        None,
                    )
                    if tx:
                        with stats.lock:
                            done["withdrawal"].append(tx)
                elif roll < 0.58:  # a batch of economy transfers, atomic or independent
                    cur = crng.choice(sorted(by_currency))
                    mode = crng.choice(["atomic", "independent"])
                    items, body = [], {"mode": mode, "items": []}
                    for i in range(crng.randint(2, 6)):
                        src, dst = crng.sample(by_currency[cur], 2)
                        amount = f"{crng.randint(1, 20000) / 100:.2f}"  # some overdraw
                        body["items"].append(
                            {"kind": "transfer", "from_wallet_id": src, "to_wallet_id": dst, "amount": amount}
                        )
                        items.append((f"{key}:{i}", src, dst))
                    with stats.lock:
                        stats.attempted += len(items) - 1  # each item is one movement
                        stats.batch_modes[mode] += 1
                    outcome = post_batch_until_answered(
                        api, stats, "/api/v1/batches", body, key, items, late, waiting_batches
                    )
                    if outcome == "refused":  # atomic: nothing posted, every item refused with it
                        with stats.lock:
                            stats.refused["batch_refused"] += len(items)
                else:
                    cur = crng.choice(sorted(by_currency))
                    src, dst = crng.sample(by_currency[cur], 2)
                    amount = f"{crng.randint(1, 30000) / 100:.2f}"  # some overdraw
                    tx = post_until_answered(
                        api,
                        stats,
                        "transfer",
                        "/api/v1/transfers",
                        {"from_wallet_id": src, "to_wallet_id": dst, "amount": amount},
                        key,
                        late,
                        src,
                        dst,
                    )
                    if tx:
                        with stats.lock:
                            done["transfer"].append(tx)

        def reader():
            while not stop.is_set():
                check_totals(api, stats, expected, economy)
                time.sleep(0.2)

        def checker_client():
            while not stop.is_set():
                if not decide(checker, stats, deadline + 60) + decide_batches(
                    checker, stats, waiting_batches, deadline + 60
                ):
                    time.sleep(0.2)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        threads += [
            threading.Thread(target=reader),
            threading.Thread(target=faults, args=(Target(server, port, stats, stop, seconds, rng),)),
            threading.Thread(target=checker_client),
        ]
        [t.start() for t in threads]
        while time.monotonic() < deadline:
            time.sleep(0.5)
        stop.set()
        [t.join(90) for t in threads]
        for _ in range(100):  # nothing is left waiting
            if not decide(checker, stats, time.monotonic() + 60) + decide_batches(
                checker, stats, waiting_batches, time.monotonic() + 60
            ):
                break
        check_totals(api, stats, expected, economy)
        log(f"[bank] {summary(stats)}")
        return stats, {"expected": expected, "wallet_ids": [w for w, _ in ids], "payouts": payouts}
    finally:
        server.stop()


def summary(stats: Stats) -> str:
    kills = sum(1 for f in stats.faults if f.startswith("SIGKILL"))
    others = len(stats.faults) - kills  # restarts, or a failover test's leader dying
    kinds = Counter(kind for _, kind, *_ in stats.acknowledged.values())
    return (
        f"attempted={stats.attempted} acknowledged={len(stats.acknowledged)} {dict(kinds)} "
        f"refused={dict(stats.refused)} retries={stats.retries} retried_keys={len(stats.retried_keys)} "
        f"unresolved={len(stats.unresolved)} worker_kills={kills} database_faults={others} "
        f"total_checks={stats.total_checks} total_violations={len(stats.total_violations)} "
        f"ready_after_restart_s={stats.ready_after_restart} batches={dict(stats.batch_modes)} "
        f"batched_items={len(stats.batched)} longest_silence_s={longest_silence(stats):.1f}"
    )
