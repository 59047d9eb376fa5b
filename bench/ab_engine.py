"""The engine A/B: this checkout's ledger_post() against an older checkout's, in one sitting.

    python -m bench.ab_engine --before DIR [--rounds 6] [--seconds 5] [--clients 16] [--only hot]

Each side gets its own database, migrated by its own migrations and loaded by its own
bench/load.py (same sizes); then pgbench runs each side's bench/engine_transfer.sql at 16
clients (--clients), uniform and hot, the two sides taking turns (who goes first alternates). Each row is
the median run per side and the median of the per-round ratios after/before: the machine's
speed swings, but within a round both sides share it. DIR needs its own .venv (a symlink to
this one will do when the requirements are the same)."""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from bench import harness, runners
from tests import pg

ROOT = Path(__file__).resolve().parent.parent
PREPARE = """
import json, sys
from bench import harness, load
url = sys.argv[1]
harness.migrate(url)
print(json.dumps(load.load(url, int(sys.argv[2]), int(sys.argv[3]))._asdict()))
"""


def prepare(checkout: Path, url: str, wallets: int, rows: int) -> SimpleNamespace:
    """Migrate and load `url` with `checkout`'s own code; the loaded wallets' ids."""
    out = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "-c", PREPARE, url, str(wallets), str(rows)],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return SimpleNamespace(**json.loads(out.strip().splitlines()[-1]))


def main() -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--before", type=Path, required=True)
    args.add_argument("--rounds", type=int, default=6)
    args.add_argument("--seconds", type=float, default=5)
    args.add_argument("--wallets", type=int, default=20_000)
    args.add_argument("--rows", type=int, default=200_000)
    args.add_argument("--clients", type=int, default=16)
    args.add_argument("--only", choices=("uniform", "hot"), help="one variant alone (more rounds in the time)")
    opts = args.parse_args()
    server, cluster = pg.server_url()
    sides = {"after": ROOT, "before": opts.before.resolve()}
    names = {side: pg.create_database(server) for side in sides}
    try:
        urls = {side: pg.with_database(server, names[side]) for side in sides}
        ids = {side: prepare(sides[side], urls[side], opts.wallets, opts.rows) for side in sides}
        for hot in (False, True):
            if opts.only and opts.only != ("hot" if hot else "uniform"):
                continue
            runs = {side: [] for side in sides}
            for n in range(opts.rounds):
                for side in ("after", "before") if n % 2 == 0 else ("before", "after"):
                    harness.checkpoint(urls[side])
                    script = sides[side] / "bench" / "engine_transfer.sql"
                    runs[side].append(
                        runners.pgbench(
                            harness.libpq_parts(urls[side]), str(script), hot, opts.clients, opts.seconds, ids[side]
                        )
                    )
            ratios = [a / b for a, b in zip(runs["after"], runs["before"])]
            print(
                f"engine_transfer.sql, {'hot' if hot else 'uniform'}, {opts.clients} clients: after "
                f"{statistics.median(runs['after']):,.0f}/s, before {statistics.median(runs['before']):,.0f}/s, "
                f"after/before {statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)})",
                flush=True,
            )
    finally:
        for name in names.values():
            pg.drop_database(server, name)
        if cluster:
            cluster.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
