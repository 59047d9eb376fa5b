"""Rows 12 (issue 27): what writing an event with every change costs the engine, and how fast
the worker sequences and delivers events to a local receiver."""

import os
import statistics
import time

import psycopg

from . import harness, runners

# The triggers that write events (wallet_app/ledger/sql/events_of_*.sql), by table.
TRIGGERS = (
    ("transactions", "events_of_new_transactions"),
    ("transactions", "events_of_changed_transactions"),
    ("batches", "events_of_batches"),
    ("wallets", "events_of_new_wallets"),
    ("wallets", "events_of_changed_wallet"),
    ("wallets", "events_of_balance_alert"),
)
ROUNDS = 3


def set_events(url: str, on: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for table, trigger in TRIGGERS:
            conn.execute(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER {trigger}")


def rows(url: str, secs: float, ids, say) -> list:
    """The engine (pgbench, one ledger_post() per transfer, 16 clients) with the event triggers
    off and on, in alternating rounds (the ratio: the median round's); then the worker's rate
    on what a run of the engine wrote."""
    libpq, out, rounds = harness.libpq_parts(url), [], []
    for n in range(ROUNDS):
        got = {}
        for on in (False, True) if n % 2 == 0 else (True, False):
            set_events(url, on)
            harness.checkpoint(url)
            got[on] = runners.pgbench(libpq, "engine_transfer.sql", False, 16, secs, ids)
        rounds.append((got[False], got[True]))
    set_events(url, True)
    off, on = (statistics.median(r[i] for r in rounds) for i in (0, 1))
    out.append(("12. engine: pgbench ledger_post() per transfer, events off, 16 clients", f"{off:,.0f}/s", "1.00"))
    out.append(
        (
            "12. engine: the same, each transfer writing its event",
            f"{on:,.0f}/s (rounds: {', '.join(f'{r[1] / r[0]:.2f}' for r in rounds)})",
            f"{statistics.median(r[1] / r[0] for r in rounds):.2f}",
        )
    )
    out.append(delivery_row(url, secs, ids, say))
    return out


def delivery_row(url: str, secs: float, ids, say) -> tuple:
    """Events written by `secs` of the engine, then sequenced and delivered by one `flask worker`
    (8 deliveries at once) to a receiver on 127.0.0.1: events per second, with the CPU each
    side spent per event."""
    from tests.receiver import Receiver, start_worker, stop_worker

    with psycopg.connect(url, autocommit=True) as conn:  # the rows before: not this row's work
        conn.execute("TRUNCATE webhook_attempts, webhook_deliveries, events")
    rx = Receiver()
    _make_endpoint(url, rx.url)
    runners.pgbench(harness.libpq_parts(url), "engine_transfer.sql", False, 16, secs, ids)
    with psycopg.connect(url, autocommit=True) as conn:
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    started = time.monotonic()
    mine = os.times()
    # Its sealing is rows 13's to measure: one round at its start, then none (the 16:05 run of
    # 2026-12-07 had this worker seal millions of loaded legs, 12 ms of PostgreSQL per event).
    worker = start_worker(url, FLASK_DEBUG="0", WEBHOOK_TIMEOUT_S="5", WORKER_SEAL_EVERY_S="1000000")
    before = runners.cpu_ticks(worker.pid)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            while True:
                left = conn.execute(
                    "SELECT (SELECT count(*) FROM events WHERE seq IS NULL)"
                    " + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')"
                ).fetchone()[0]
                if not left:
                    break
                if time.monotonic() - started > 600:
                    raise RuntimeError(f"the worker left {left} events undelivered after 600 s")
                time.sleep(0.05)
        elapsed = time.monotonic() - started
        after = runners.cpu_ticks(worker.pid)
    finally:
        stop_worker(worker)
        rx.close()
    receiver = sum(os.times()[:2]) - sum(mine[:2])
    per = 1000 / os.sysconf("SC_CLK_TCK") / max(events, 1)
    worker_ms, db_ms = ((after[k] - before[k]) * per for k in ("app", "postgres"))
    delivered = len(rx.accepted())
    say(f"Row 12's worker: {events:,} events, {delivered:,} deliveries accepted, {elapsed:.1f} s.")
    return (
        "12. worker: events sequenced and delivered to a receiver on 127.0.0.1 (1 worker, 8 at once)",
        f"{events / elapsed:,.0f} events/s ({events:,} in {elapsed:.1f} s); CPU per event: worker {worker_ms:.2f} ms, "
        f"PostgreSQL {db_ms:.2f} ms, receiver {1000 * receiver / max(events, 1):.2f} ms",
        "-",
    )


def _make_endpoint(url: str, receiver_url: str) -> None:
    app = harness.make_app(url, WEBHOOK_ALLOW_PRIVATE=True)
    from wallet_app.events import webhooks
    from wallet_app.extensions import db
    from wallet_app.services.audit import Actor

    with app.app_context():
        webhooks.create(receiver_url, actor=Actor("cli", "bench"))
        for engine in db.engines.values():
            engine.dispose()
