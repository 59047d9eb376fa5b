"""Instructions per engine call, this checkout against an older one: the A/B that does not drift.

    python -m bench.ab_instructions --before DIR [--calls 200] [--hot]

pgbench's rounds swing by 20% or more on this machine from one minute to the next; valgrind's
callgrind counts the instructions PostgreSQL executes, the same for the same input whatever
else the machine does. Each side's database is migrated and loaded by its own code (as
bench/ab_engine.py does), then a single-user PostgreSQL backend (the embedded wheel's) runs
under callgrind: each side's bench/engine_transfer.sql prepared once and executed `--calls`
times, as pgbench -M prepared and the app (psycopg prepares it) run it. A second run of 20
calls is subtracted, so start-up and the first calls' compiling are not counted.

Instructions are not seconds: they leave out cache misses and the kernel (bench/RESULTS.md,
issue 24, has a case where the two disagree). Use it to find where a change costs, and
ab_engine for the ratio. Needs valgrind (Debian's package)."""

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from bench import ab_engine
from wallet_app import localdb

ROOT = Path(__file__).resolve().parent.parent


def script(checkout: Path) -> str:
    """The checkout's engine call, as a PREPARE with $1 source, $2 destination, $3 key."""
    lines = (checkout / "bench" / "engine_transfer.sql").read_text().splitlines()
    call = "\n".join(line for line in lines if line and not line.startswith(("--", "\\"))).split(";")[0]
    call = call.replace("gen_random_uuid()::text", "$3").replace(":src", "$1").replace(":dst", "$2")
    return f"PREPARE p(bigint, bigint, text) AS {call};\n\n"


def calls(ids, n: int, hot: bool, tag: str) -> str:
    span = ids.last - ids.first
    out = []
    for k in range(n):
        src = ids.treasury if hot else ids.first + (k * 7919) % span
        dst = ids.first + (k * 104729 + 1) % span
        dst += dst == src
        out.append(f"EXECUTE p({src}, {dst}, '{tag}{k}');\n\n")
    return "".join(out)


def main() -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--before", type=Path, required=True)
    args.add_argument("--calls", type=int, default=200)
    args.add_argument("--hot", action="store_true")
    opts = args.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("bench.ab_instructions needs valgrind (apt-get install valgrind)")
    sides = {"before": opts.before.resolve(), "after": ROOT}
    work = Path(tempfile.mkdtemp(prefix="wallet-ab-"))
    os.chmod(work, 0o777)
    data = work / "data"
    try:
        localdb.initdb(data, localdb.free_port(), "fsync = off\n")
        localdb.start(data)
        server = f"postgresql://postgres@127.0.0.1:{localdb.port(data)}"
        ids = {}
        for side, checkout in sides.items():
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {side}")
            ids[side] = ab_engine.prepare(checkout, f"{server}/{side}", 5000, 20000)
            with psycopg.connect(f"{server}/{side}", autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        localdb.stop(data)
        per_call = {}
        for side, checkout in sides.items():
            counted = {}
            for tag, n in (("warm", 20), ("run", 20 + opts.calls)):
                sql = work / f"{side}-{tag}.sql"
                sql.write_text(script(checkout) + calls(ids[side], n, opts.hot, tag))
                os.chmod(sql, 0o644)
                with sql.open() as stdin:
                    done = subprocess.run(
                        [
                            *localdb.as_user(),
                            "valgrind",
                            "--tool=callgrind",
                            f"--callgrind-out-file={work}/{side}-{tag}.out",
                            str(localdb.bin_dir() / "postgres"),
                            "--single",
                            "-j",
                            "-D",
                            str(data),
                            side,
                        ],
                        stdin=stdin,
                        capture_output=True,
                        text=True,
                    )
                if "ERROR" in done.stdout or not (found := re.search(r"Collected : (\d+)", done.stderr)):
                    raise SystemExit(f"{side}: {done.stdout[-800:]}{done.stderr[-800:]}")
                counted[tag] = int(found.group(1))
            per_call[side] = (counted["run"] - counted["warm"]) / opts.calls
            print(f"{side}: {per_call[side]:,.0f} instructions per call ({work}/{side}-run.out)", flush=True)
        print(f"before/after {per_call['before'] / per_call['after']:.3f} ({'hot' if opts.hot else 'uniform'})")
    finally:
        if localdb.running(data):
            localdb.stop(data, "immediate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
