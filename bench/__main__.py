"""make bench: load a throwaway database, measure against the engine's own limit, write RESULTS.md.

python -m bench [--quick] [--http-only | --only http] [--server S] [--seconds S]
  --quick      small data and short runs, to check the harness itself (writes no file)
  --http-only  only the HTTP transfer row, 64 clients, gunicorn.conf.py's defaults, on the
               full data; prints one `HTTP64 {json}` line (bench/alternate.py reads it)
  --only http  rows 3 alone on the full data: the engine's pgbench limit (uniform, 16
               clients), then the floor and the app at 16 and 64 clients, alternating;
               printed, not written to RESULTS.md
  --server     what serves rows 3 with --only: gunicorn (production), granian, or both
               (gunicorn,granian: each server's rows in turn, on the same data and baseline)
  --before DIR with --only http: the app of an older checkout (same migrations, its own
               .venv) alternates with the floor and this app on the same data (row 3b)
  --only batches  rows 10 and 11 alone: HTTP batches of 100 and 1,000 against the engine's
               pgbench limit and the single-transfer HTTP row; a transfer with a fee and a
               funding against a plain transfer, at 1, 32 and 64 system-wallet shards; printed
  --only events  rows 12 alone: the engine with and without its event triggers, alternating;
               then one worker sequencing and delivering to a local receiver; printed
  --only month-end  rows 13 alone: sealing the loaded history, the engine with a sealer beside
               it against none, balance as of and a statement of the treasury against its
               wallet page, a bank statement of 100,000 lines matched against COPY; printed
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from bench import events, harness, load, month_end, replica_reads, runners
from bench.harness import ROOT


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("s" if n != 1 else "")


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
    args.add_argument("--http-only", action="store_true")
    args.add_argument("--only", choices=["http", "batches", "events", "month-end"])
    args.add_argument("--server", default="gunicorn", help=",".join(harness.SERVERS))
    args.add_argument("--before", type=Path, help="with --only http: an older checkout whose app joins rows 3")
    args.add_argument("--seconds", type=float, help="length of each measured run (default 10, quick 3)")
    opts = args.parse_args()
    wallets, rows, secs = (2_000, 40_000, 3) if opts.quick else (100_000, 2_000_000, 10)
    secs = opts.seconds or secs
    table, out = [], []
    say = lambda line: (print(line, flush=True), out.append(line))  # noqa: E731
    with harness.throwaway_database() as url:
        harness.migrate(url)
        started = time.perf_counter()
        ids = load.load(url, wallets, rows)
        say(
            f"Loaded {wallets:,} wallets and ~{rows:,} history rows in {time.perf_counter() - started:.0f} s "
            f"(treasury: wallet {ids.treasury}; the others {ids.first}..{ids.last})."
        )
        code, report = harness.reconcile(url)
        say(f"flask reconcile on the loaded data: exit {code}" + (f"\n{report}" if code else ""))
        if code:
            return code
        if opts.http_only:
            return http_only(url, secs, ids)
        if opts.only in ("batches", "events", "month-end"):
            rows = {
                "batches": lambda: batch_rows(url, secs, ids),
                "events": lambda: events.rows(url, secs, ids, say),
                "month-end": lambda: month_end.rows(url, secs, ids, say),
            }[opts.only]()
            for row in rows:
                print(" | ".join(row), flush=True)
            return 0
        if opts.only:
            return http_subset(url, secs, ids, opts.server, opts.before)

        base = {}
        libpq = harness.libpq_parts(url)
        for variant in ("uniform", "hot"):
            for clients in (1, 4, 16):
                harness.checkpoint(url)
                base[variant, clients] = runners.pgbench(
                    libpq, "engine_transfer.sql", variant == "hot", clients, secs, ids
                )
                table.append(
                    (
                        f"1. engine: pgbench ledger_post() (engine_transfer.sql), {variant}, "
                        f"{plural(clients, 'client')}",
                        f"{base[variant, clients]:,.0f} transfers/s",
                        "1.00",
                    )
                )
        for variant in ("uniform", "hot"):
            harness.checkpoint(url)
            tps = runners.pgbench(libpq, "transfer.sql", variant == "hot", 16, secs, ids)
            table.append(
                (
                    f"1r. reference: pgbench old 7-statement SQL (transfer.sql), {variant}, 16 clients",
                    f"{tps:,.0f} transfers/s",
                    f"{tps / base[variant, 16]:.2f}",
                )
            )
        app = harness.make_app(url, DB_POOL_SIZE=20)
        for variant in ("uniform", "hot"):
            for threads in (1, 4, 16):
                harness.checkpoint(url)
                r = runners.service(app, threads, secs, ids, hot=variant == "hot")
                table.append(
                    (
                        f"2. service: operations.transfer, {variant}, {plural(threads, 'thread')}",
                        f"{r['tps']:,.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, errors {r['errors']}",
                        f"{r['tps'] / base[variant, threads]:.2f}",
                    )
                )
                if r["first_error"]:
                    say(f"service, {variant}, {threads} threads, first error: {r['first_error']}")
        release(app)
        rows, notes = http_rows(url, secs, ids, base)
        table += rows
        for note in notes + [""]:
            say(note)
        table += export_rows(url)
        table += page_rows(app, ids, wallets)
        table += operation_rows(app, url, secs, ids)
        table += batch_rows(url, secs, ids)
        table += events.rows(url, secs, ids, say)
        table += month_end.rows(url, secs, ids, say)
        # Row 9 on a primary and a replica of its own (smaller data: two more clusters).
        table += replica_reads.measure(secs, *((2_000, 20_000) if opts.quick else (20_000, 400_000)), say=say)
        code, report = harness.reconcile(url)
        say(f"flask reconcile on the bench database after the run (exit {code}):\n{report}")
        write(table, out, machine(), pg_settings(url), opts.quick, secs)
        return code


def operation_rows(app, url: str, secs: float, ids: load.Wallets) -> list:
    """Rows 6, 7 and 8: a transfer with a fee, a reversal, a hold and its capture, each against
    pgbench calling the engine for the same operations (16 clients or threads), with a transfer
    fee they remove after them."""
    libpq, rows = harness.libpq_parts(url), []
    transfer_fee(url, True)
    for label, script, measure in (
        (
            "6. transfer with a fee (0.01 + 10 bps), uniform",
            "engine_transfer.sql",
            lambda: runners.service(app, 16, secs, ids, hot=False),
        ),
        (
            "7. reversal of 0.01 of a transfer (every one debits the treasury)",
            "engine_reversal.sql",
            lambda: runners.reversals(app, 16, secs, ids),
        ),
        (
            "8. a hold of 0.01 and its capture (a pair), uniform",
            "engine_hold_capture.sql",
            lambda: runners.holds_captured(app, 16, secs, ids),
        ),
    ):
        harness.checkpoint(url)
        engine = runners.pgbench(libpq, script, False, 16, secs, ids)
        harness.checkpoint(url)
        r = measure()
        release(app)
        rows.append((f"{label}: engine pgbench ({script}), 16 clients", f"{engine:,.0f}/s", "1.00"))
        rows.append(
            (
                f"{label}: service, 16 threads",
                f"{r['tps']:,.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, errors {r['errors']}",
                f"{r['tps'] / engine:.2f}",
            )
        )
    transfer_fee(url, False)
    return rows


def transfer_fee(url: str, on: bool) -> None:
    """Set (0.01 + 10 bps) or remove the USD transfer fee. Rows that set it remove it after
    them: the make bench of 2026-12-07 04:33 left rows 6's fee in place, and rows 10 measured
    batches (and their engine baseline) paying it to one `fees` row."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM fee_schedule WHERE currency = 'USD' AND kind = 'transfer'")
        if on:
            conn.execute("INSERT INTO fee_schedule (currency, kind, fixed, bps) VALUES ('USD', 'transfer', 0.01, 10)")


# Rows 11's rounds: single runs of a fee or a funding against a plain transfer ranged 0.74 to
# 1.02 within one sitting (2026-12-07); the median of five rounds in alternating order holds.
ROUNDS_11 = 5


def batch_rows(url: str, secs: float, ids: load.Wallets) -> list:
    """Rows 10: HTTP batches (independent) of 100 transfers (16 clients) and of 1,000 (2 and 4
    clients), in transfers per second, against the engine's pgbench limit (one call per
    transfer, uniform, 16 clients) and the single-transfer HTTP row (64 clients), with each
    side's CPU per transfer and the largest worker's memory. Rows 11: a transfer with a fee and
    a funding (from `world`) against a plain transfer, each one engine call (pgbench, 16
    clients), at 1, 64 and 256 system-wallet shards, in five rounds of alternating order
    (ratios: the median round's)."""
    libpq, rows = harness.libpq_parts(url), []
    transfer_fee(url, False)
    harness.checkpoint(url)
    engine = runners.pgbench_cpu(libpq, "engine_transfer.sql", 16, secs, ids)
    base = engine["tps"]
    rows.append(
        (
            "1. engine: pgbench ledger_post() per transfer, uniform, 16 clients",
            f"{base:,.0f}/s; CPU per transfer: {engine_cpu(engine)}",
            "1.00",
        )
    )
    env, token = http_env(url)
    with harness.gunicorn(env) as (pid, port):
        harness.checkpoint(url)
        single = runners.http_load(pid, port, token, 64, secs, ids)
        rows.append(
            (
                "3. HTTP: POST /api/v1/transfers, 64 clients",
                f"{single['tps']:,.0f}/s; CPU per transfer: {cpu_split(single)}",
                f"{single['tps'] / base:.2f}",
            )
        )
        # Clients enough to keep both cores busy, as row 3's 64 do (at 8, batches of 100 left
        # 10 % of the CPU idle). Batches of 1,000 also at 2: four of them hold about 2,000 of
        # the 100,000 wallets each, nearly always share one, and take their locks again 4 to 5
        # times a batch (bench/RESULTS.md, 2026-12-08); a payer sending them need not send 4 at once.
        for size, clients in ((100, 16), (1000, 2), (1000, 4)):
            harness.checkpoint(url)
            with runners.peak_rss(pid) as peak:
                r = runners.http_load(pid, port, token, clients, secs, ids, "batches.lua", (str(size),), per=size)
            rows.append(
                (
                    f"10. HTTP: POST /api/v1/batches of {size:,} transfers (independent), {clients} clients",
                    f"{r['tps']:,.0f} transfers/s, p50 {r['p50']:.0f} ms per batch, errors {r['errors']}; "
                    f"CPU per transfer: {cpu_split(r)}; largest worker {peak['mib']:.0f} MiB",
                    f"{r['tps'] / base:.2f}; {r['tps'] / single['tps']:.1f}x row 3",
                )
            )

    def run(script: str) -> dict:
        harness.checkpoint(url)
        return runners.pgbench_cpu(libpq, script, 16, secs, ids)

    # Rounds of plain, fee, funding in turn: each ratio is the median of its rounds' (one
    # round's three runs are minutes apart at most; the machine's speed drifts over a sitting).
    def measure(what: str) -> dict:
        transfer_fee(url, what == "fee")
        return run("engine_fund.sql" if what == "fund" else "engine_transfer.sql")

    for shards in (1, 64, 256):
        harness.flask_command(url, "system-shards", str(shards)).check_returncode()
        rounds = []
        for n in range(ROUNDS_11):
            # every other round the other way round: a drift within a round cancels out
            order = ("plain", "fee", "fund") if n % 2 == 0 else ("fund", "fee", "plain")
            got = {what: measure(what) for what in order}
            rounds.append((got["plain"], got["fee"], got["fund"]))
        transfer_fee(url, False)
        plain, charged, fund = (statistics.median(r[i]["tps"] for r in rounds) for i in range(3))
        per = lambda i: ", ".join(f"{r[i]['tps'] / r[0]['tps']:.2f}" for r in rounds)  # noqa: E731

        def cpu(i: int) -> str:  # each side's CPU per transfer and waits, the mean of its rounds
            mean = {k: statistics.mean(r[i][k] for r in rounds) for k in ("cpu_db", "cpu_rest", "idle")}
            waits = Counter()
            for r in rounds:
                waits.update({event: share / len(rounds) for event, share in r[i]["waits"].items()})
            return engine_cpu({**mean, "waits": waits})

        rows.append(
            (
                f"11. engine, {shards} shard(s): a plain transfer, 16 clients",
                f"{plain:,.0f}/s; CPU per transfer: {cpu(0)}",
                "1.00",
            )
        )
        rows.append(
            (
                f"11. engine, {shards} shard(s): a transfer with a fee",
                f"{charged:,.0f}/s (rounds: {per(1)}); CPU per transfer: {cpu(1)}",
                f"{statistics.median(r[1]['tps'] / r[0]['tps'] for r in rounds):.2f}",
            )
        )
        rows.append(
            (
                f"11. engine, {shards} shard(s): a funding from world",
                f"{fund:,.0f}/s (rounds: {per(2)}); CPU per transfer: {cpu(2)}",
                f"{statistics.median(r[2]['tps'] / r[0]['tps'] for r in rounds):.2f}",
            )
        )
    return rows


def release(app) -> None:
    """Close the connections the service threads left in the app's pools: the server's
    max_connections (100 here, shared with other databases) must leave room for gunicorn."""
    from wallet_app.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def http_env(url: str) -> tuple[dict, str]:
    """gunicorn's environment (Redis for limits when it answers, as production) and a token."""
    env = harness.flask_env(url, SECRET_KEY=uuid.uuid4().hex, API_RATE_LIMIT="100000000/minute")
    env.pop("FLASK_DEBUG")
    if harness.redis_answers():
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"  # production: limits shared by all workers
    # A name of its own each time: rows 3 and rows 10 each make one in the same database.
    name = f"bench-{uuid.uuid4().hex[:8]}"
    made = harness.flask_command(url, "create-token", name, "--scopes", "read,write", env=env)
    made.check_returncode()
    return env, made.stdout.strip().splitlines()[-1]


def http_only(url: str, secs: float, ids: load.Wallets) -> int:
    env, token = http_env(url)
    with harness.gunicorn(env) as (pid, port):
        r = runners.http_load(pid, port, token, 64, secs, ids)
    print(
        f"HTTP POST /api/v1/transfers, 64 clients: {r['tps']:,.0f}/s, p50 {r['p50']:.1f} ms, "
        f"p99 {r['p99']:.1f} ms, errors {r['errors']}; {cpu_split(r)}"
    )
    print("HTTP64 " + json.dumps(r), flush=True)
    return 0


# gunicorn (workers, threads) tried at 64 clients; gunicorn.conf.py's default is the winner
# on this 2-core machine (see bench/RESULTS.md).
SWEEP = ((1, 8), (2, 4), (2, 8), (3, 4), (4, 2))


def http_subset(url: str, secs: float, ids: load.Wallets, servers: str, before: Path | None = None) -> int:
    """--only http: rows 3 and the baseline they are measured against, printed."""
    harness.checkpoint(url)
    base = {("uniform", 16): runners.pgbench(harness.libpq_parts(url), "engine_transfer.sql", False, 16, secs, ids)}
    print(f"1. engine: pgbench ledger_post(), uniform, 16 clients: {base['uniform', 16]:,.0f} transfers/s")
    for server in servers.split(","):
        rows, notes = http_rows(url, secs, ids, base, server=server, sweep=False, before=before)
        for row in rows:
            print(" | ".join(row))
        print("\n".join(notes), flush=True)
    return 0


# Floor, bare Flask and app runs alternate this many times at each client count, each run half
# as long as the bench's others (5 s), the order rotating each round. The machine's speed swings
# within a run of rows 3 (bench/PROFILE.md): five 10 s rounds put the same code's ratio to the
# floor anywhere in 0.57 - 0.86 per round and 0.68 - 0.82 as a row. Sixteen 5 s rounds compared
# within their round held its quartiles to 0.71 - 0.76, so each row reports its median run and
# the app's ratio is the median of its rounds' ratios.
HTTP_ROUNDS = 12


def http_rows(
    url: str,
    secs: float,
    ids: load.Wallets,
    base: dict,
    server: str = "gunicorn",
    sweep: bool = True,
    before: Path | None = None,
) -> tuple[list, list]:
    """Rows 3: the floor (bench/floor.py), the same work behind a bare Flask route (what Flask
    alone costs) and the app, under the same server and settings, at 16 then 64 clients,
    alternating HTTP_ROUNDS times (each row: the median run, and the median of its runs' ratios
    to the floor's run of the same round); then the workers x threads sweep of the app. With
    `before` (an older checkout with the same migrations and its own .venv), its app joins the
    alternation on the same data: row 3b."""
    env, token = http_env(url)
    rows, notes = [], []
    with ExitStack() as stack:
        servers = {
            "floor": stack.enter_context(harness.gunicorn(env, "bench.floor:app", server)),
            "flask": stack.enter_context(harness.gunicorn(env, "bench.floor:flask_app", server)),
            "app": stack.enter_context(harness.gunicorn(env, "wsgi:app", server)),
        }
        if before is not None:
            servers["before"] = stack.enter_context(harness.gunicorn(env, "wsgi:app", server, root=before))
        sides = list(servers)
        for clients in (16, 64):
            runs = {side: [] for side in servers}
            for n in range(HTTP_ROUNDS):  # each side first in turn: no side always runs on a warmer machine
                for side in sides[n % len(sides) :] + sides[: n % len(sides)]:
                    harness.checkpoint(url)
                    runs[side].append(runners.http_load(*servers[side], token, clients, secs / 2, ids))
            middle = {side: sorted(runs[side], key=lambda run: run["tps"])[HTTP_ROUNDS // 2] for side in runs}
            # Each side's run over the floor's run of the same round; the rows report their median.
            paired = {side: [a["tps"] / f["tps"] for a, f in zip(runs[side], runs["floor"])] for side in sides[1:]}
            floor, r = middle["floor"], middle["app"]
            rows.append(
                (
                    f"3f. floor: bare WSGI callable, same engine call ({server}, wrk), {clients} clients",
                    f"{floor['tps']:,.0f}/s, p50 {floor['p50']:.1f} ms, p99 {floor['p99']:.1f} ms, "
                    f"errors {floor['errors']}",
                    f"{floor['tps'] / base['uniform', 16]:.2f}",
                )
            )
            f = middle["flask"]
            rows.append(
                (
                    f"3ff. the floor's work behind a bare Flask route ({server}, wrk), {clients} clients",
                    f"{f['tps']:,.0f}/s, p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms, errors {f['errors']}",
                    f"{f['tps'] / base['uniform', 16]:.2f}; {statistics.median(paired['flask']):.2f} of the floor",
                )
            )
            rows.append(
                (
                    f"3. HTTP: POST /api/v1/transfers ({server}, wrk), {clients} clients",
                    f"{r['tps']:,.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, errors {r['errors']}",
                    f"{r['tps'] / base['uniform', 16]:.2f}; {statistics.median(paired['app']):.2f} of the floor",
                )
            )
            if before is not None:
                b = middle["before"]
                after = statistics.median(a["tps"] / x["tps"] for a, x in zip(runs["app"], runs["before"]))
                rows.append(
                    (
                        f"3b. HTTP, the app at {_commit(before)}: POST /api/v1/transfers ({server}, wrk), "
                        f"{clients} clients",
                        f"{b['tps']:,.0f}/s, p50 {b['p50']:.1f} ms, p99 {b['p99']:.1f} ms, errors {b['errors']}",
                        f"{statistics.median(paired['before']):.2f} of the floor; row 3 is {after:.2f} of it",
                    )
                )
            for side in runs:
                each = ", ".join(f"{run['tps']:,.0f}" for run in runs[side])
                notes.append(
                    f"- {clients} clients, {side}: runs {each}/s; the median run's CPU: {cpu_split(middle[side])}"
                )
            for side in sides[1:]:
                q1, q2, q3 = statistics.quantiles(paired[side], n=4)
                notes.append(
                    f"- {clients} clients, the {side}'s run over the floor's run of the same round: "
                    f"{', '.join(f'{x:.2f}' for x in paired[side])} (median {q2:.2f}, quartiles "
                    f"{q1:.2f} - {q3:.2f})"
                )
    if sweep:
        notes.append("")
        notes.append(
            "gunicorn workers x threads at 64 clients (row 3 uses gunicorn.conf.py's defaults; "
            "ratio to the engine, uniform, 16 clients):"
        )
        for workers, threads in SWEEP:
            with harness.gunicorn({**env, "WEB_WORKERS": str(workers), "WEB_THREADS": str(threads)}) as (pid, port):
                harness.checkpoint(url)
                r = runners.http_load(pid, port, token, 64, secs, ids)
            notes.append(
                f"- {workers} x {threads}: {r['tps']:,.0f}/s ({r['tps'] / base['uniform', 16]:.2f}), "
                f"p99 {r['p99']:.0f} ms, errors {r['errors']}; {cpu_split(r)}"
            )
    head = [f"HTTP CPU per transfer (ms, all cores; rate limits on {'Redis' if 'REDIS_URL' in env else 'memory'}):"]
    return rows, head + notes


def _commit(checkout: Path) -> str:
    done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or checkout.name


def engine_cpu(r: dict) -> str:
    """A pgbench row's CPU per transfer (runners.pgbench_cpu), and its backends' top waits."""
    waits = ", ".join(f"{event} {share:.0f}%" for event, share in r["waits"].most_common(3))
    return f"PostgreSQL {r['cpu_db']:.2f}, pgbench/kernel {r['cpu_rest']:.2f}, CPU idle {r['idle']:.0f}%" + (
        f"; backends: {waits}" if waits else ""
    )


def cpu_split(r: dict) -> str:
    return (
        f"server {r['cpu_app']:.2f}, PostgreSQL {r['cpu_db']:.2f}, wrk/Redis/kernel {r['cpu_rest']:.2f}, "
        f"CPU idle {r['idle']:.0f}%"
    )


EXPORT = """
from wallet_app import create_app
from wallet_app.finance import exports
app = create_app({{'SQLALCHEMY_DATABASE_URI': '{url}'}})
n = 0
with app.app_context(), app.test_request_context():
    for chunk in exports.stream_history(exports.HistoryFilter()):
        n += chunk.count(b'\\n')
print('ROWS', n - 1)
"""
# The export covers customer wallets only (system wallets are the ledger's own): so does COPY.
COPY = """
import psycopg
n = 0
with psycopg.connect('{url}') as conn, conn.cursor().copy(
        "COPY (SELECT h.id, h.created_at, h.wallet_id, w.owner_name, t.currency, t.kind, h.amount, h.balance_after, "
        "h.transaction_id, t.reference, t.created_by, t.rate, t.held_amount IS NOT NULL "
        "FROM wallet_history h JOIN transactions t ON t.id = h.transaction_id "
        "JOIN wallets w ON w.id = h.wallet_id WHERE w.system_purpose IS NULL ORDER BY h.id) "
        "TO STDOUT WITH CSV") as copy:
    for block in copy:
        n += bytes(block).count(b'\\n')
print('ROWS', n)
"""


def export_rows(url: str) -> list:
    app_s, app_rss, app_n = runners.peak_rss_of(EXPORT.format(url=url), {"FLASK_DEBUG": "1"})
    copy_s, copy_rss, copy_n = runners.peak_rss_of(COPY.format(url=url), {})
    return [
        (
            "4. COPY (...) TO STDOUT WITH CSV, same rows",
            f"{copy_n / copy_s:,.0f} rows/s, peak RSS {copy_rss:.0f} MB",
            "1.00",
        ),
        (
            "4. History CSV export through the app",
            f"{app_n / app_s:,.0f} rows/s ({app_n:,} rows), peak RSS {app_rss:.0f} MB",
            f"{(app_n / app_s) / (copy_n / copy_s):.2f}",
        ),
    ]


def page_rows(app, ids: load.Wallets, wallets: int) -> list:
    from wallet_app.ledger import queries

    client = harness.console_client(app)
    with app.app_context():
        cursor = queries.history(ids.treasury, limit=25).next_cursor
    rows = []
    for label, url in (
        (f"wallet page, the treasury ({ids.transfers + 1:,} history rows)", f"/wallets/{ids.treasury}"),
        ("history load more, same wallet", f"/wallets/{ids.treasury}/history?cursor={cursor}"),
        (f"wallet search among {wallets:,} wallets", "/wallets?q=owner777"),
    ):
        times = []
        for _ in range(100):
            started = time.perf_counter()
            response = client.get(url, headers={"HX-Request": "true"} if "cursor" in url else {})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        times.sort()
        rows.append((f"5. {label}", f"p50 {times[49]:.1f} ms, p95 {times[94]:.1f} ms", "-"))
    return rows


def write(table: list, out: list, machine_line: str, settings: str, quick: bool, secs: float) -> None:
    lines = [
        f"# Benchmark results{' (quick run: small data, short runs)' if quick else ''}",
        "",
        f"Run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, `make bench`",
        f"Machine: {machine_line}",
        f"Database: {settings}",
        "",
        "| measure | figure | ratio to baseline |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in table]
    lines += [
        "",
        "Baseline: rows 1, pgbench calling the engine's ledger_post() itself for one transfer (the limit "
        "of our own work). Ratios: rows 1r and 2 against row 1 at the same variant and client count; rows 3f and 3 "
        "against row 1 uniform at 16 clients, and row 3 also against row 3f (the floor: bench/floor.py) "
        "at the same client count, as is row 3ff (bench/floor.py's flask_app: the floor's work behind a bare "
        f"Flask route); rows 3f, 3ff and 3 are each the median of {HTTP_ROUNDS} alternating runs of "
        f"{secs / 2:.0f} s, every run listed under the table, and the ratios to the floor the median of each "
        "round's ratio; row 4 against COPY in the same run; rows 10 against the engine row and the HTTP "
        "row measured again just before them (labelled 1. and 3.), rows 11 against a plain transfer at the same "
        "shard count, in five rounds of alternating order; rows 12 the engine with its event triggers against "
        "the same engine without them, in three rounds of alternating order; rows 13 (month end) the engine "
        "with the worker's sealer beside it against none, in three rounds of alternating order, the treasury's "
        "balance as of a moment and statement against its wallet page, and matching a bank statement against "
        "COPY of the same ledger rows.",
        "",
        *out,
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not quick:
        path = ROOT / "bench" / "RESULTS.md"
        # The before/after section comes from bench.alternate, not from this run: keep it.
        old = path.read_text() if path.exists() else ""
        kept = old[old.index(KEPT) :] if KEPT in old else ""
        path.write_text(text + ("\n" + kept if kept else ""))


KEPT = "## HTTP before/after the engine"


if __name__ == "__main__":
    sys.exit(main())
