"""The measured workloads: pgbench (the engine's own limit, and the old SQL as a reference),
the service in threads, HTTP under gunicorn, the CSV export against COPY.

Each takes the loaded wallets (load.Wallets): the treasury, and the others `first`..`last`.
A "hot" run debits the treasury on every transfer; a uniform one picks any other source."""

import json
import os
import re
import statistics
import subprocess
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pgbench(url_parts: dict, script: str, hot: bool, clients: int, seconds: float, ids) -> float:
    """Transfers per second of `script` (bench/*.sql) at `clients` connections."""
    cmd = [
        "pgbench",
        "-n",
        "-M",
        "prepared",
        "-T",
        f"{seconds:.0f}",
        "-c",
        str(clients),
        "-j",
        str(min(clients, 2)),
        "-D",
        f"treasury={ids.treasury}",
        "-D",
        f"first={ids.first}",
        "-D",
        f"last={ids.last}",
        "-D",
        f"transfers={ids.transfers}",
        "-D",
        f"first_transfer={ids.first_transfer}",
        "-D",
        f"hot={int(hot)}",
        "-f",
        str(ROOT / "bench" / script),
        "-h",
        url_parts["host"],
        "-p",
        str(url_parts["port"]),
        "-U",
        url_parts["user"],
        url_parts["dbname"],
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"tps = ([0-9.]+)", out).group(1))


def pgbench_cpu(url_parts: dict, script: str, clients: int, seconds: float, ids) -> dict:
    """pgbench (uniform) as pgbench() runs it, with the CPU spent per transfer (ms): PostgreSQL,
    and the rest (pgbench, the kernel), how idle the machine was, and what its busy backends
    were waiting on (`waits`: wait_sampler's shares)."""
    before = cpu_ticks(0)
    with wait_sampler(url_parts) as waits:
        tps = pgbench(url_parts, script, False, clients, seconds, ids)
    time.sleep(0.3)  # pgbench's backends exit as it does: reaped, their CPU is their postmaster's
    after = cpu_ticks(0)
    ms = 1000 / os.sysconf("SC_CLK_TCK") / max(tps * seconds, 1)
    spent = {k: (after[k] - before[k]) * ms for k in after}
    return {
        "tps": tps,
        "cpu_db": spent["postgres"],
        "cpu_rest": spent["busy"] - spent["postgres"],
        "idle": 100 * (after["idle"] - before["idle"]) / max(after["all"] - before["all"], 1),
        "waits": waits,
    }


@contextmanager
def _in_background(sample):
    """Runs `sample(stop)` in a thread while the block runs; it returns once `stop` is set."""
    stop = threading.Event()
    thread = threading.Thread(target=sample, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def wait_sampler(url_parts: dict, every: float = 0.05):
    """Samples pg_stat_activity while the block runs: yields a Counter, filled at the end with
    each wait event's share (%) of the active client backends' samples ("CPU": not waiting).
    Why a ratio is what it is: a row lock queue (Lock:transactionid) or commits (WALWrite)."""
    import psycopg

    shares = Counter()
    dsn = " ".join(f"{k}={v}" for k, v in url_parts.items())
    query = (
        "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend' AND state = 'active'"
    )

    def sample(stop: threading.Event) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not stop.wait(every):
                shares.update(event for (event,) in conn.execute(query))

    try:
        with _in_background(sample):
            yield shares
    finally:
        total = sum(shares.values()) or 1
        for event in shares:
            shares[event] = 100 * shares[event] / total


def percentiles(latencies: list[float]) -> tuple[float, float]:
    latencies = sorted(latencies)
    if not latencies:
        return 0.0, 0.0
    return (statistics.median(latencies) * 1000, latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000)


def closed_loop(workers: int, seconds: float, make_worker) -> dict:
    """Run `workers` closed-loop workers for `seconds`; each is `make_worker(i)` -> a callable
    doing one operation and returning True on success. Throughput counts successes only."""
    stop = time.monotonic() + seconds
    latencies, errors = [[] for _ in range(workers)], [0] * workers

    def run(i):
        once = make_worker(i)
        while time.monotonic() < stop:
            started = time.perf_counter()
            ok = once()
            latencies[i].append(time.perf_counter() - started)
            errors[i] += not ok

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    begun = time.monotonic()
    [t.start() for t in threads]
    [t.join() for t in threads]
    elapsed = time.monotonic() - begun
    flat = [x for xs in latencies for x in xs]
    p50, p99 = percentiles(flat)
    return {"tps": (len(flat) - sum(errors)) / elapsed, "p50": p50, "p99": p99, "errors": sum(errors)}


def service(app, threads: int, seconds: float, ids, hot: bool) -> dict:
    """operations.transfer of 0.01 in threads (hot: every one from the treasury)."""
    from wallet_app.ledger import operations

    def transfer(rng, actor):
        src = ids.treasury if hot else rng.randint(ids.first, ids.last)
        dst = rng.randint(ids.first, ids.last - 1)
        operations.transfer(src, dst + (dst >= src), "0.01", idempotency_key=str(uuid.uuid4()), actor=actor)

    return in_threads(app, threads, seconds, transfer)


def holds_captured(app, threads: int, seconds: float, ids) -> dict:
    """operations.transfer(pending=True) then operations.capture of it, in threads: one
    count per pair, as pgbench's engine_hold_capture.sql counts one per pair."""
    from wallet_app.ledger import operations

    def hold_and_capture(rng, actor):
        src = rng.randint(ids.first, ids.last)
        dst = rng.randint(ids.first, ids.last - 1)
        held = operations.transfer(
            src, dst + (dst >= src), "0.01", idempotency_key=str(uuid.uuid4()), actor=actor, pending=True
        )
        operations.capture(held.transaction["id"], idempotency_key=str(uuid.uuid4()), actor=actor)

    return in_threads(app, threads, seconds, hold_and_capture)


def reversals(app, threads: int, seconds: float, ids) -> dict:
    """operations.reverse of 0.01 of a random loaded transfer, in threads (the treasury pays)."""
    from wallet_app.ledger import operations

    def reverse(rng, actor):
        operations.reverse(
            ids.first_transfer + rng.randrange(ids.transfers),
            amount="0.01",
            reason="bench",
            idempotency_key=str(uuid.uuid4()),
            actor=actor,
        )

    return in_threads(app, threads, seconds, reverse)


def in_threads(app, threads: int, seconds: float, call) -> dict:
    """`call(rng, actor)` in closed-loop threads, each with its own app context (session);
    an exception counts as an error, the first one is reported."""
    import random

    from wallet_app.services.audit import Actor

    actor, failures = Actor("bench", "bench"), []

    def make_worker(i):
        rng = random.Random(i)
        app.app_context().push()

        def once():
            try:
                call(rng, actor)
                return True
            except Exception as exc:
                failures.append(exc)
                return False

        return once

    result = closed_loop(threads, seconds, make_worker)
    return {**result, "first_error": repr(failures[0]) if failures else None}


def http_load(
    server_pid: int, port: int, token: str, clients: int, seconds: float, ids, script="transfers.lua", extra=(), per=1
) -> dict:
    """wrk as the load generator: keep-alive connections, each transfer with its own
    Idempotency-Key (bench/transfers.lua); errors are non-2xx answers and socket errors.
    wrk is C: a Python generator took a core of its own from the two the server and
    PostgreSQL share. Also returns the CPU each side spent per transfer (ms). `per`: the
    transfers each request moves (a batch's size, bench/batches.lua)."""
    cmd = [
        "wrk",
        "-t",
        str(min(2, clients)),
        "-c",
        str(clients),
        "-d",
        f"{seconds:.0f}s",
        "--timeout",
        "30s",
        "-s",
        str(ROOT / "bench" / script),
        f"http://127.0.0.1:{port}",
        "--",
        token,
        str(ids.first),
        str(ids.last),
        uuid.uuid4().hex,
        *extra,
    ]
    before = cpu_ticks(server_pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after = cpu_ticks(server_pid)
    r = json.loads(re.search(r"^WRK (.*)$", out, re.M).group(1))
    errors = r["status_errors"] + r["socket_errors"]
    ms = 1000 / os.sysconf("SC_CLK_TCK") / max(r["requests"] * per, 1)
    spent = {k: (after[k] - before[k]) * ms for k in after}
    return {
        "tps": (r["requests"] - errors) * per / r["seconds"],
        "p50": r["p50_ms"],
        "p99": r["p99_ms"],
        "errors": errors,
        "cpu_app": spent["app"],
        "cpu_db": spent["postgres"],
        "cpu_rest": spent["busy"] - spent["app"] - spent["postgres"],
        "idle": 100 * (after["idle"] - before["idle"]) / max(after["all"] - before["all"], 1),
    }


def cpu_ticks(server_pid: int) -> dict:
    """CPU clock ticks so far: the gunicorn tree (`app`), every PostgreSQL process, and the
    whole machine (busy, idle, all) from /proc."""
    ticks, children, totals = {}, {}, {"app": 0, "postgres": 0}
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])
        children.setdefault(int(fields[1]), []).append(pid)
        if comm == "postgres":
            # with its reaped children's (cutime, cstime): a backend that ended during the run
            # (pgbench's, when it disconnects) counts in its postmaster's
            totals["postgres"] += ticks[pid] + int(fields[13]) + int(fields[14])
    todo = [server_pid]
    while todo:
        pid = todo.pop()
        totals["app"] += ticks.get(pid, 0)
        todo += children.get(pid, [])
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:8]]
    idle = values[3] + values[4]
    return {**totals, "idle": idle, "all": sum(values), "busy": sum(values) - idle}


def peak_rss_of(code: str, env: dict) -> tuple[float, float, int]:
    """Run `code` in a fresh interpreter; return (seconds, peak RSS MB, rows it reported).

    The peak is the child's own VmHWM: getrusage's ru_maxrss survives exec on Linux, so it
    reported the (larger) bench process that forked the child."""
    script = code + (
        "\nprint('RSS', next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')))"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-c", script],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    seconds = time.perf_counter() - started
    rss = int(re.search(r"RSS (\d+)", out).group(1)) / 1024
    rows = int(re.search(r"ROWS (\d+)", out).group(1))
    return seconds, rss, rows


@contextmanager
def peak_rss(server_pid: int, every: float = 0.2):
    """The largest resident memory of any process of the gunicorn tree while the block runs
    (sampled): yields a dict whose `mib` is filled in at the end."""
    found = {"mib": 0.0}

    def sample(stop: threading.Event) -> None:
        while not stop.is_set():
            for pid in _tree(server_pid):
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            found["mib"] = max(found["mib"], int(line.split()[1]) / 1024)
                except OSError:
                    pass
            stop.wait(every)

    with _in_background(sample):
        yield found


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found
