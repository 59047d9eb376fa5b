"""make bench: load a throwaway database, measure against PostgreSQL's own limit, write RESULTS.md.

python -m bench [--quick]   (quick: small data and short runs, to check the harness itself)
"""
import argparse
import os
import platform
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load, runners  # noqa: E402
from tests import pg  # noqa: E402
from tests.conftest import make_app, migrate  # noqa: E402


def machine() -> str:
    mem = next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1]
    return f"{os.cpu_count()} cores, {int(mem) // 1024 // 1024} GiB, {platform.platform()}"


def pg_settings(url: str) -> str:
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        names = ["shared_buffers", "synchronous_commit", "fsync", "max_connections", "work_mem", "wal_level"]
        values = [f"{n}={conn.execute(f'SHOW {n}').fetchone()[0]}" for n in names]
    return f"PostgreSQL {version}: " + ", ".join(values)


def main() -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--quick", action="store_true")
    opts = args.parse_args()
    wallets, rows, secs = (2_000, 40_000, 3) if opts.quick else (100_000, 2_000_000, 10)
    server, cluster = pg.server_url()
    name = pg.create_database(server)
    url = pg.with_database(server, name)
    parts = make_url(url)
    conn_parts = {"host": parts.host or "/var/run/postgresql", "port": parts.port or 5432,
                  "user": parts.username or "postgres", "dbname": name}
    table, out = [], []
    say = lambda line: (print(line, flush=True), out.append(line))  # noqa: E731
    try:
        migrate(url)
        started = time.perf_counter()
        load.load(url, wallets, rows)
        say(f"Loaded {wallets:,} wallets and ~{rows:,} history rows in {time.perf_counter() - started:.0f} s.")

        base = {}
        for variant in ("uniform", "hot"):
            for clients in (1, 4, 16):
                base[variant, clients] = runners.pgbench(conn_parts, variant == "hot", clients, secs, wallets)
                table.append((f"1. pgbench raw SQL transfer, {variant}, {clients} clients",
                              f"{base[variant, clients]:,.0f} transfers/s", "1.00"))
        app = make_app(url, DB_POOL_SIZE=20)
        for variant in ("uniform", "hot"):
            for threads in (1, 4, 16):
                r = runners.service(app, threads, secs, wallets, hot=variant == "hot")
                table.append((f"2. WalletsService.transfer, {variant}, {threads} threads",
                              f"{r['tps']:,.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, errors {r['errors']}",
                              f"{r['tps'] / base[variant, threads]:.2f}"))
        rows, notes = http_rows(url, secs, wallets, base)
        table += rows
        for note in notes + [""]:
            say(note)
        table += export_rows(url)
        table += page_rows(app, wallets)
        reconcile = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "reconcile"], cwd=ROOT,
                                   env={**os.environ, "DATABASE_URL": url, "FLASK_DEBUG": "1"},
                                   capture_output=True, text=True)
        say("flask reconcile on the bench database (exit %d):\n%s" % (reconcile.returncode, reconcile.stdout))
        write(table, out, machine(), pg_settings(url), opts.quick)
        return reconcile.returncode
    finally:
        pg.drop_database(server, name)
        if cluster:
            cluster.destroy()


# gunicorn (workers, threads) tried at 64 clients; gunicorn.conf.py's default is the winner
# on this 2-core machine (see bench/RESULTS.md).
SWEEP = ((1, 8), (2, 4), (2, 8), (3, 4), (4, 2))


def http_rows(url: str, secs: float, wallets: int, base: dict) -> tuple[list, list]:
    """Row 3 with gunicorn.conf.py's own settings, then the workers x threads sweep."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": uuid.uuid4().hex, "API_RATE_LIMIT": "100000000/minute"}
    if redis_answers():
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"  # production: limits shared by all workers
    token = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "create-token", "bench", "--scopes",
                            "read,write"], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.strip().splitlines()[-1]
    rows, notes = [], []
    with gunicorn(env) as (pid, port):
        for clients in (16, 64):
            r = runners.http_load(pid, port, token, clients, secs, wallets)
            rows.append((f"3. HTTP POST /api/v1/transfers (gunicorn), {clients} clients",
                         f"{r['tps']:,.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, errors {r['errors']}",
                         f"{r['tps'] / base['uniform', 16]:.2f}"))
            notes.append(f"- {clients} clients: {cpu_split(r)}")
    notes.append("")
    notes.append("gunicorn workers x threads at 64 clients (row 3 uses gunicorn.conf.py's defaults):")
    for workers, threads in SWEEP:
        with gunicorn({**env, "WEB_WORKERS": str(workers), "WEB_THREADS": str(threads)}) as (pid, port):
            r = runners.http_load(pid, port, token, 64, secs, wallets)
        notes.append(f"- {workers} x {threads}: {r['tps']:,.0f}/s ({r['tps'] / base['uniform', 16]:.2f}), "
                     f"p99 {r['p99']:.0f} ms, errors {r['errors']}; {cpu_split(r)}")
    head = [f"HTTP CPU per transfer (ms, all cores; rate limits on {'Redis' if 'REDIS_URL' in env else 'memory'}):"]
    return rows, head + notes


def cpu_split(r: dict) -> str:
    return (f"app {r['cpu_app']:.2f}, PostgreSQL {r['cpu_db']:.2f}, wrk/Redis/kernel {r['cpu_rest']:.2f}, "
            f"CPU idle {r['idle']:.0f}%")


def redis_answers() -> bool:
    import redis
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except redis.exceptions.ConnectionError:
        return False


@contextmanager
def gunicorn(env: dict):
    """gunicorn with gunicorn.conf.py on a free loopback port: yields (master pid, port)."""
    from tests.bank import wait_ready

    port = pg._free_port()
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                              env={**env, "BIND": f"127.0.0.1:{port}"}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_ready(port)
        yield server.pid, port
    finally:
        server.terminate()
        server.wait(30)


EXPORT = """
import sys; sys.path.insert(0, '.')
from tests.conftest import make_app
from wallet_app.finance import exports
app = make_app('{url}')
n = 0
with app.app_context(), app.test_request_context():
    for chunk in exports.stream_history(exports.HistoryFilter()):
        n += chunk.count(b'\\n')
print('ROWS', n - 1)
"""
COPY = """
import psycopg
n = 0
with psycopg.connect('{url}') as conn, conn.cursor().copy(
        "COPY (SELECT h.id, h.created_at, h.wallet_id, w.owner_name, t.currency, t.kind, h.amount, h.balance_after, "
        "h.transaction_id, t.reference, t.created_by FROM wallet_history h JOIN transactions t ON t.id = h.transaction_id "
        "JOIN wallets w ON w.id = h.wallet_id ORDER BY h.id) TO STDOUT WITH CSV") as copy:
    for block in copy:
        n += bytes(block).count(b'\\n')
print('ROWS', n)
"""


def export_rows(url: str) -> list:
    app_s, app_rss, app_n = runners.peak_rss_of(EXPORT.format(url=url), {"FLASK_DEBUG": "1"})
    copy_s, copy_rss, copy_n = runners.peak_rss_of(COPY.format(url=url), {})
    return [("4. COPY (...) TO STDOUT WITH CSV, same rows", f"{copy_n / copy_s:,.0f} rows/s, peak RSS {copy_rss:.0f} MB",
             "1.00"),
            ("4. History CSV export through the app", f"{app_n / app_s:,.0f} rows/s ({app_n:,} rows), "
             f"peak RSS {app_rss:.0f} MB", f"{(app_n / app_s) / (copy_n / copy_s):.2f}")]


def page_rows(app, wallets: int) -> list:
    from wallet_app.services.audit import Actor
    from wallet_app.services.operators import create_operator

    with app.app_context():
        session_id = create_operator(f"bench-{uuid.uuid4().hex[:6]}@example.com", "bench password 123",
                                     "viewer", actor=Actor("cli", "cli")).get_id()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"] = session_id, True
    with app.app_context():
        from wallet_app.services.wallets import WalletsService
        cursor = WalletsService().history(1, limit=25).next_cursor
    rows = []
    for label, url in (("wallet page, wallet with ~1M history rows", "/wallets/1"),
                       ("history load more, same wallet", f"/wallets/1/history?cursor={cursor}"),
                       (f"wallet search among {wallets:,} wallets", "/wallets?q=owner777")):
        times = []
        for _ in range(100):
            started = time.perf_counter()
            response = client.get(url, headers={"HX-Request": "true"} if "cursor" in url else {})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        times.sort()
        rows.append((f"5. {label}", f"p50 {times[49]:.1f} ms, p95 {times[94]:.1f} ms", "-"))
    return rows


def write(table: list, out: list, machine_line: str, settings: str, quick: bool) -> None:
    lines = [f"# Benchmark results{' (quick run: small data, short runs)' if quick else ''}", "",
             f"Run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, `make bench`", f"Machine: {machine_line}",
             f"Database: {settings}", "", "| measure | figure | ratio to baseline |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in table]
    lines += ["", "Ratios: rows 2 against pgbench at the same client count and variant; row 3 against pgbench "
              "uniform at 16 clients; row 4 against COPY in the same run.", "", *out]
    text = "\n".join(lines) + "\n"
    print(text)
    if not quick:
        (ROOT / "bench" / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    sys.exit(main())
