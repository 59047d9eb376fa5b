"""Rows 13 (issue 28): finance's month end on the loaded ledger. Sealing the loaded history into
the seal chain; the engine with a sealer running beside it against none (alternating rounds);
a balance as of a moment and a statement of the treasury (about half the history rows) against
the wallet page; matching a bank statement of 100,000 lines against COPY of the same rows."""

import io
import statistics
import subprocess
import sys
import time
from datetime import timedelta

import psycopg

from . import harness, runners

ROUNDS = 3
LINES = 100_000
# The worker's sealing, alone: a round every second (WORKER_SEAL_EVERY_S), as `flask worker` runs it.
SEALER = """
import time
from wallet_app import create_app
from wallet_app.ledger import seals
app = create_app({{'SQLALCHEMY_DATABASE_URI': '{url}'}})
with app.app_context():
    while True:
        seals.seal()
        time.sleep(1)
"""


def rows(url: str, secs: float, ids, say) -> list:
    app = harness.make_app(url)
    out = [seal_backlog_row(app, say)]
    out += sealing_rows(app, url, secs, ids)
    out += read_rows(app, ids)
    out += matching_rows(app, url)
    return out


def seal_backlog_row(app, say) -> tuple:
    """The loaded history sealed from nothing, as a ledger upgraded to migration 0017 would be."""
    from sqlalchemy import text

    from wallet_app.extensions import db
    from wallet_app.ledger import seals

    with app.app_context():
        # from nothing, whatever sealed before (a worker of the rows before it seals as it runs)
        db.session.execute(text("TRUNCATE ledger_seals"))
        db.session.execute(text("UPDATE ledger_seal_state SET sealed_upto = 0, next_upto = NULL, next_snapshot = NULL"))
        db.session.commit()
        started = time.perf_counter()
        links = seals.seal_all(max_legs=200_000)
        took = time.perf_counter() - started
        lag = seals.lag()
        t = time.perf_counter()
        broken = seals.breaks()
        verify = time.perf_counter() - t
    say(f"sealed {links:,} links ({lag.sealed_upto:,} legs) in {took:.0f} s; verify-chain {verify:.0f} s")
    return (
        "13. seal the loaded history (flask seal), then verify-chain",
        f"{lag.sealed_upto / took:,.0f} legs/s ({links:,} links in {took:.0f} s); verify {verify:.1f} s, "
        f"{'holds' if not broken else 'BROKEN'}",
        "-",
    )


def sealing_rows(app, url: str, secs: float, ids) -> list:
    """pgbench (one ledger_post() per transfer, 16 clients) with no sealer, and with one sealing
    every second beside it; alternating rounds, the ratio the median round's. Before each round
    what the rounds before wrote is sealed (not the round's work: the sealer's steady state is)."""
    from wallet_app.ledger import seals

    libpq, rounds = harness.libpq_parts(url), []
    for n in range(ROUNDS):
        got = {}
        for on in (False, True) if n % 2 == 0 else (True, False):
            with app.app_context():
                seals.seal_all(max_legs=200_000)
            harness.checkpoint(url)
            sealer = None
            if on:
                code = SEALER.format(url=url)
                sealer = subprocess.Popen([sys.executable, "-c", code], cwd=harness.ROOT, env=harness.flask_env(url))
            try:
                if sealer:
                    time.sleep(2)  # started
                    assert sealer.poll() is None, "the sealer did not start"
                got[on] = runners.pgbench(libpq, "engine_transfer.sql", False, 16, secs, ids)
            finally:
                if sealer:
                    sealer.terminate()
                    sealer.wait(10)
        rounds.append((got[False], got[True]))
    off, on = (statistics.median(r[i] for r in rounds) for i in (0, 1))
    return [
        ("13. engine: pgbench ledger_post() per transfer, no sealer, 16 clients", f"{off:,.0f}/s", "1.00"),
        (
            "13. engine: the same, the worker's sealer running beside it (a round a second)",
            f"{on:,.0f}/s (rounds: {', '.join(f'{r[1] / r[0]:.2f}' for r in rounds)})",
            f"{statistics.median(r[1] / r[0] for r in rounds):.2f}",
        ),
    ]


def _times(client, url: str, n: int, headers=None) -> tuple[float, float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url, headers=headers or {})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:300])
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def read_rows(app, ids) -> list:
    """The wallet page of the treasury, its balance as of a moment inside its history, and its
    statement over all of it (opening, closing, in and out over every leg, the first page)."""
    from sqlalchemy import text

    from wallet_app.extensions import db
    from wallet_app.services.audit import Actor
    from wallet_app.services.serialize import iso
    from wallet_app.services.tokens import create_token

    with app.app_context():
        _, secret = create_token("bench-month-end", "read", actor=Actor("cli", "cli"))
        legs, first, last = db.session.execute(
            text("SELECT count(*), min(created_at), max(created_at) FROM wallet_history WHERE wallet_id = :w"),
            {"w": ids.treasury},
        ).one()
        db.session.remove()
    api = {"Authorization": f"Bearer {secret}"}
    console = harness.console_client(app)
    page = _times(console, f"/wallets/{ids.treasury}", 50)
    at = iso(first + (last - first) / 2)
    span = f"from={iso(first - timedelta(days=1))}&to={iso(last + timedelta(seconds=1))}".replace("+", "%2B")
    as_of = _times(console.application.test_client(), f"/api/v1/wallets/{ids.treasury}/balance?at={at}", 200, api)
    statement = _times(console.application.test_client(), f"/api/v1/wallets/{ids.treasury}/statement?{span}", 20, api)
    return [
        (
            f"13. wallet page, the treasury ({legs:,} legs) (row 5, again)",
            f"p50 {page[0]:.1f} ms, p95 {page[1]:.1f} ms",
            "1.00",
        ),
        (
            "13. its balance as of a moment (GET /wallets/{id}/balance?at=)",
            f"p50 {as_of[0]:.1f} ms, p95 {as_of[1]:.1f} ms",
            f"{as_of[0] / page[0]:.2f}",
        ),
        (
            f"13. its statement over all {legs:,} legs (GET /wallets/{{id}}/statement, first page)",
            f"p50 {statement[0]:.1f} ms, p95 {statement[1]:.1f} ms",
            f"{statement[0] / page[0]:.2f}",
        ),
    ]


_LEDGER_ROWS = (
    "SELECT 'B' || id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), round(amount, 2)::text, "
    "coalesce(reference, ''), 'deposit' FROM transactions WHERE kind = 'fund' AND currency = 'USD' "
    f"ORDER BY id LIMIT {LINES}"
)


def matching_rows(app, url: str) -> list:
    """A bank statement made of the ledger's first 100,000 fundings (as the bank lists them: its
    own id, the day, the amount), imported and matched; against COPY of those ledger rows."""
    from wallet_app.finance import bank
    from wallet_app.services.audit import Actor

    started = time.perf_counter()
    buffer = io.BytesIO()
    with psycopg.connect(url) as conn, conn.cursor().copy(f"COPY ({_LEDGER_ROWS}) TO STDOUT WITH CSV") as copy:
        for block in copy:
            buffer.write(bytes(block))
    copy_s = time.perf_counter() - started
    body = "id,date,amount,reference,description\n" + buffer.getvalue().decode()
    lines = body.count("\n") - 1
    with app.app_context():
        started = time.perf_counter()
        answer = bank.import_statement("USD", body, actor=Actor("cli", "bench"))
        match_s = time.perf_counter() - started
    return [
        (f"13. COPY of the ledger's first {lines:,} fundings, as CSV", f"{lines / copy_s:,.0f} rows/s", "1.00"),
        (
            f"13. bank statement of those {lines:,} lines imported and matched (set-based)",
            f"{lines / match_s:,.0f} lines/s ({match_s:.1f} s; matched {answer['matched']:,}, "
            f"unmatched {answer.get('unmatched_statement_count', len(answer['unmatched_statement'])):,} / "
            f"{answer.get('unmatched_ledger_count', len(answer['unmatched_ledger'])):,})",
            f"{(lines / match_s) / (lines / copy_s):.2f}",
        ),
    ]
