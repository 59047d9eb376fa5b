"""HTTP before/after the engine: the HTTP transfer row (wrk, 64 clients, gunicorn.conf.py's
defaults, full data) for an older checkout and for this one, alternating, in one sitting.

python -m bench.alternate BEFORE_DIR [--rounds 2] [--seconds 20] [--required 0.90]

BEFORE_DIR is an older checkout with its own .venv (`git worktree add /tmp/bench-before
<commit> && make -C /tmp/bench-before install-dev`; a symlink to this .venv will do when the
requirements are the same). Each side runs with its own code, migrations and engine included:
`python -m bench --http-only` in each, or, for a checkout whose bench has no HTTP-only mode
(b80f25b, the commit before the engine), its bench and test helpers driven by the small script
below. Each run makes, loads and drops its own database.
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# b80f25b's own functions, as its http_rows() calls them (env, token, gunicorn, wrk).
BEFORE = """
import json, os, subprocess, sys, uuid
sys.path.insert(0, '.')
from bench import load, runners
from bench.__main__ import ROOT, gunicorn, redis_answers
from tests import pg
from tests.conftest import migrate
server, cluster = pg.server_url()
name = pg.create_database(server)
url = pg.with_database(server, name)
try:
    migrate(url)
    load.load(url, 100_000, 2_000_000)
    env = {{**os.environ, "DATABASE_URL": url, "SECRET_KEY": uuid.uuid4().hex, "API_RATE_LIMIT": "100000000/minute"}}
    if redis_answers():
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    token = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "create-token", "bench", "--scopes",
                            "read,write"], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.strip().splitlines()[-1]
    with gunicorn(env) as (pid, port):
        r = runners.http_load(pid, port, token, 64, {seconds}, 100_000)
    print("HTTP64 " + json.dumps(r), flush=True)
finally:
    pg.drop_database(server, name)
"""


def run(side: str, before_dir: Path, seconds: float) -> dict:
    cwd = before_dir if side == "before" else ROOT
    cmd = [str(cwd / ".venv/bin/python"), "-m", "bench", "--http-only", "--seconds", str(seconds)]
    if "--http-only" not in (cwd / "bench/__main__.py").read_text():
        cmd = [str(cwd / ".venv/bin/python"), "-c", BEFORE.format(seconds=seconds)]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    found = re.search(r"^HTTP64 (.*)$", done.stdout, re.M)
    if done.returncode or not found:
        raise RuntimeError(f"{side} run failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(found.group(1))


def main() -> int:
    args = argparse.ArgumentParser()
    args.add_argument("before_dir", type=Path)
    args.add_argument("--rounds", type=int, default=2)
    args.add_argument("--seconds", type=float, default=20)
    args.add_argument("--required", type=float, default=0.90, help="the least after/before that passes")
    opts = args.parse_args()
    results = {"before": [], "after": []}
    print(
        "| run | side | transfers/s | p50 ms | p99 ms | errors | CPU ms per transfer: app / PostgreSQL / rest "
        "| CPU idle |\n|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    for n in range(1, opts.rounds + 1):
        for side in ("before", "after"):
            r = run(side, opts.before_dir, opts.seconds)
            results[side].append(r["tps"])
            print(
                f"| {n} | {side} | {r['tps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} | "
                f"{r['cpu_app']:.2f} / {r['cpu_db']:.2f} / {r['cpu_rest']:.2f} | {r['idle']:.0f}% |",
                flush=True,
            )
    before, after = (sum(v) / len(v) for v in (results["before"], results["after"]))
    worst = min(a / b for a, b in zip(results["after"], results["before"]))
    print(
        f"\nMean: before {before:,.0f}/s, after {after:,.0f}/s, after/before {after / before:.2f} "
        f"(per round, lowest {worst:.2f}); required: >= {opts.required:.2f}"
    )
    return 0 if after >= opts.required * before else 1


if __name__ == "__main__":
    sys.exit(main())
