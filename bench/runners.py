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


def pgbench(url_parts: dict, script: str, clients: int, seconds: int, wallets: int) -> float:
    cmd = ["pgbench", "-n", "-M", "prepared", "-T", str(seconds), "-c", str(clients), "-j", str(min(clients, 2)),
           "-D", f"wallets={wallets}", "-f", str(ROOT / "bench" / script),
           "-h", url_parts["host"], "-p", str(url_parts["port"]), "-U", url_parts["user"], url_parts["dbname"]]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"tps = ([0-9.]+)", out).group(1))


def percentiles(latencies: list[float]) -> tuple[float, float]:
    latencies = sorted(latencies)
    if not latencies:
        return 0.0, 0.0
    return (statistics.median(latencies) * 1000, latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000)


def service(app, threads: int, seconds: float, wallets: int, hot: bool) -> dict:
    from wallet_app.services.audit import Actor
    from wallet_app.services.wallets import WalletsService

    actor, stop = Actor("bench", "bench"), time.monotonic() + seconds
    latencies, errors = [[] for _ in range(threads)], []

    def work(i):
        import random
        rng = random.Random(i)
        with app.app_context():
            svc = WalletsService()
            while time.monotonic() < stop:
                src = 1 if hot else rng.randint(2, wallets)
                dst = rng.randint(2, wallets)
                if dst == src:
                    continue
                started = time.perf_counter()
                try:
                    svc.transfer(src, dst, "0.01", idempotency_key=str(uuid.uuid4()), actor=actor)
                except Exception as exc:  # counted, reported
                    errors.append(repr(exc))
                latencies[i].append(time.perf_counter() - started)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    begun = time.monotonic()
    [t.start() for t in ts]
    [t.join() for t in ts]
    elapsed = time.monotonic() - begun
    flat = [x for xs in latencies for x in xs]
    p50, p99 = percentiles(flat)
    return {"tps": len(flat) / elapsed, "p50": p50, "p99": p99, "errors": len(errors)}


def http_load(port: int, token: str, clients: int, seconds: float, wallets: int) -> dict:
    """Closed-loop clients on keep-alive connections, each transfer with its own key."""
    stop = time.monotonic() + seconds
    latencies, errors = [[] for _ in range(clients)], [0] * clients

    def work(i):
        import random
        rng = random.Random(1000 + i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            src, dst = rng.sample(range(2, wallets + 1), 2)
            body = json.dumps({"from_wallet_id": src, "to_wallet_id": dst, "amount": "0.01"})
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/transfers", body=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json",
                    "Idempotency-Key": str(uuid.uuid4())})
                response = conn.getresponse()
                response.read()
                ok = response.status == 201
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies[i].append(time.perf_counter() - started)
            errors[i] += not ok

    ts = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    begun = time.monotonic()
    [t.start() for t in ts]
    [t.join() for t in ts]
    elapsed = time.monotonic() - begun
    flat = [x for xs in latencies for x in xs]
    p50, p99 = percentiles(flat)
    return {"tps": (len(flat) - sum(errors)) / elapsed, "p50": p50, "p99": p99, "errors": sum(errors)}


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
