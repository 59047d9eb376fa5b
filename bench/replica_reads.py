"""Bench row 9: reads per second from the primary alone vs with a streaming replica.

python -m bench.replica_reads [--seconds S] [--wallets N] [--rows N]

A primary and its hot standby of our own (the embedded PostgreSQL, pg_basebackup -R, as
tests/scale does), loaded by bench/load.py; gunicorn with gunicorn.conf.py's defaults serves
GET /api/v1/wallets/{id}/history?limit=25 to wrk (bench/reads.lua, a read-only token), first
with DATABASE_URL alone, then with REPLICA_DATABASE_URL too. The replica's committed
transactions (pg_stat_database) show that the second run's reads went there.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from contextlib import closing

import psycopg

from bench import harness, load, runners
from bench.harness import ROOT
from wallet_app import localdb


def _xacts(url: str) -> int:
    with closing(psycopg.connect(url, autocommit=True)) as conn:
        return conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]


def _cpu(pids: dict) -> dict:
    """CPU ticks so far of each process tree in `pids` (name -> root pid)."""
    return {name: runners.cpu_ticks(pid)["app"] for name, pid in pids.items()}


def _wrk(server_pid: int, port: int, token: str, ids, clients: int, seconds: float, clusters: dict) -> dict:
    cmd = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(clients),
        "-d",
        f"{seconds:.0f}s",
        "--timeout",
        "30s",
        "-s",
        str(ROOT / "bench" / "reads.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        token,
        str(ids.first),
        str(ids.last),
    ]
    before, before_db = runners.cpu_ticks(server_pid), _cpu(clusters)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after, after_db = runners.cpu_ticks(server_pid), _cpu(clusters)
    r = json.loads(re.search(r"^WRK (.*)$", out, re.M).group(1))
    errors = r["status_errors"] + r["socket_errors"]
    idle = 100 * (after["idle"] - before["idle"]) / max(after["all"] - before["all"], 1)
    ms = 1000 / os.sysconf("SC_CLK_TCK") / max(r["requests"], 1)  # CPU ms per read, each cluster
    return {
        "rps": (r["requests"] - errors) / r["seconds"],
        "p50": r["p50_ms"],
        "p99": r["p99_ms"],
        "errors": errors,
        "requests": r["requests"],
        "idle": idle,
        **{f"cpu_{name}": (after_db[name] - before_db[name]) * ms for name in clusters},
    }


def measure(
    seconds: float = 10, wallets: int = 20_000, rows: int = 400_000, clients: int = 16, say=print
) -> list[tuple[str, str, str]]:
    """The two runs on clusters of our own; returns bench table rows (label, figure, ratio)."""
    from tests import pg
    from tests.scale.servers import Replica

    primary = pg.Cluster()
    replica = None
    try:
        name = pg.create_database(primary.url)
        url = pg.with_database(primary.url, name)
        harness.migrate(url)
        ids = load.load(url, wallets, rows)
        replica = Replica(primary)
        replica.catch_up(url)
        replica_url = pg.with_database(replica.url, name)
        env = {
            **harness.flask_env(
                url, SECRET_KEY="bench-" + name, API_RATE_LIMIT="100000000/minute", RATELIMIT_KEY_PREFIX="bench-" + name
            )
        }
        env.pop("FLASK_DEBUG")
        if harness.redis_answers():
            env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        made = harness.flask_command(url, "create-token", "bench-reads", "--scopes", "read", env=env)
        made.check_returncode()
        token = made.stdout.strip().splitlines()[-1]
        replica.catch_up(url)
        results = {}
        clusters = {"primary": localdb.running(primary.data), "replica": localdb.running(replica.data)}
        for label, extra in (("primary alone", {}), ("with the replica", {"REPLICA_DATABASE_URL": replica_url})):
            before = _xacts(replica_url)
            with harness.gunicorn({**env, **extra}) as (pid, port):
                results[label] = r = _wrk(pid, port, token, ids, clients, seconds, clusters)
            time.sleep(0.5)  # the app's backends have exited: their counts are in pg_stat_database
            r["on_replica"] = _xacts(replica_url) - before - 1
            say(
                f"{label}: {r['rps']:,.0f} reads/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, "
                f"errors {r['errors']}; transactions on the replica {r['on_replica']:,} for {r['requests']:,} "
                f"requests; CPU ms per read: primary {r['cpu_primary']:.2f}, replica {r['cpu_replica']:.2f}; "
                f"CPU idle {r['idle']:.0f}%"
            )
        base = results["primary alone"]["rps"]
        return [
            (
                f"9. reads: GET /api/v1/wallets/{{id}}/history (gunicorn, wrk, {clients} clients), {label}",
                f"{r['rps']:,.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, errors {r['errors']}",
                f"{r['rps'] / base:.2f}",
            )
            for label, r in results.items()
        ]
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


def main() -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--seconds", type=float, default=10)
    args.add_argument("--wallets", type=int, default=20_000)
    args.add_argument("--rows", type=int, default=400_000)
    opts = args.parse_args()
    started = time.perf_counter()
    rows = measure(opts.seconds, opts.wallets, opts.rows)
    for label, figure, ratio in rows:
        print(f"| {label} | {figure} | {ratio} |")
    print(f"({time.perf_counter() - started:.0f} s; {os.cpu_count()} cores)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
