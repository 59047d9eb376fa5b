"""The measured workloads: pgbench (baseline), the service in threads, HTTP under gunicorn,
the CSV export against COPY, and page times through the test client."""
import http.client
import json
import os
import re
import statistics
import subprocess
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pgbench(url_parts: dict, hot: bool, clients: int, seconds: int, wallets: int) -> float:
    cmd = ["pgbench", "-n", "-M", "prepared", "-T", str(seconds), "-c", str(clients), "-j", str(min(clients, 2)),
           "-D", f"wallets={wallets}", "-D", f"hot={int(hot)}", "-f", str(ROOT / "bench" / "transfer.sql"),
           "-h", url_parts["host"], "-p", str(url_parts["port"]), "-U", url_parts["user"], url_parts["dbname"]]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"tps = ([0-9.]+)", out).group(1))


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


def service(app, threads: int, seconds: float, wallets: int, hot: bool) -> dict:
    """WalletsService.transfer in threads, each with its own app context (session)."""
    import random

    from wallet_app.services.audit import Actor
    from wallet_app.services.wallets import WalletsService

    actor = Actor("bench", "bench")

    def make_worker(i):
        rng, ctx = random.Random(i), app.app_context()
        ctx.push()
        svc = WalletsService()

        def once():
            src = 1 if hot else rng.randint(2, wallets)
            dst = rng.randint(2, wallets)
            if dst == src:
                dst = 3 if src == 2 else 2
            try:
                svc.transfer(src, dst, "0.01", idempotency_key=str(uuid.uuid4()), actor=actor)
                return True
            except Exception:  # counted as an error, reported
                return False
        return once

    return closed_loop(threads, seconds, make_worker)


def http_load(port: int, token: str, clients: int, seconds: float, wallets: int) -> dict:
    """Keep-alive HTTP clients, each transfer with its own Idempotency-Key."""
    import random

    def make_worker(i):
        rng = random.Random(1000 + i)
        state = {"conn": http.client.HTTPConnection("127.0.0.1", port, timeout=30)}

        def once():
            src, dst = rng.sample(range(2, wallets + 1), 2)
            body = json.dumps({"from_wallet_id": src, "to_wallet_id": dst, "amount": "0.01"})
            try:
                state["conn"].request("POST", "/api/v1/transfers", body=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json",
                    "Idempotency-Key": str(uuid.uuid4())})
                response = state["conn"].getresponse()
                response.read()
                return response.status == 201
            except (OSError, http.client.HTTPException):
                state["conn"].close()
                state["conn"] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                return False
        return once

    return closed_loop(clients, seconds, make_worker)


def peak_rss_of(code: str, env: dict) -> tuple[float, float, int]:
    """Run `code` in a fresh interpreter; return (seconds, peak RSS MB, rows it reported)."""
    script = code + "\nimport resource, sys; print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    started = time.perf_counter()
    out = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", script], cwd=ROOT, env={**os.environ, **env},
                         capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - started
    rss = int(re.search(r"RSS (\d+)", out).group(1)) / 1024
    rows = int(re.search(r"ROWS (\d+)", out).group(1))
    return seconds, rss, rows
