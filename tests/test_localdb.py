"""The embedded PostgreSQL of a local run, with real processes: shared by the processes that use
it, stopped by the last one out, never a mode changed outside the project, and `make run` that
leaves nothing running after Ctrl-C."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from wallet_app import localdb

ROOT = Path(__file__).resolve().parent.parent
WHEEL = Path(localdb.bin_dir()).parent
USE = """import sys
from pathlib import Path
import psycopg
from wallet_app import localdb
url = localdb.url(Path(sys.argv[1]))
psycopg.connect(url).execute("SELECT 1")
print(url, flush=True)
"""
HOLD = USE + "sys.stdin.read()  # holds the server until its stdin closes\n"


@pytest.fixture
def project():
    """A project-like folder (0755, as a clone is); its server is stopped and deleted at the end."""
    path = Path(tempfile.mkdtemp(prefix="wallet-localdb-"))
    path.chmod(0o755)
    yield path
    localdb.destroy(path / "instance")
    shutil.rmtree(path, ignore_errors=True)


def modes(*paths: Path) -> dict[Path, int]:
    """The modes of every folder above `paths` (and theirs), to prove none was chmodded."""
    return {p: p.stat().st_mode for path in paths for p in [path, *path.parents] if p.exists()}


def hold(instance: Path) -> tuple[subprocess.Popen, str]:
    """A process that uses the server until its stdin closes, as `make run` does; and the URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(instance)], cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    return proc, proc.stdout.readline().strip()


def cli(instance: Path) -> str:
    """A CLI-like second process: finds the server, uses it, exits."""
    return subprocess.run(
        [sys.executable, "-c", USE, str(instance)],
        cwd=ROOT,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    ).stdout.strip()


def server_processes(data: Path) -> list[int]:
    """The postmaster for `data` and its children (backends, checkpointer, ...)."""
    pid = localdb.running(data)
    assert pid, f"no server for {data}"
    children = [
        int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _stat(int(p.name))[1:2] == [str(pid)]
    ]
    return [pid, *children]


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def assert_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 5
    while any(_stat(p)[:1] not in ([], ["Z"]) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in pids if _stat(p)[:1] not in ([], ["Z"])] == []


def test_processes_share_one_server_and_the_last_one_out_stops_it(project):
    instance = project / "instance"
    before = modes(project, WHEEL)
    first, url = hold(instance)
    data = instance / "postgres"
    conf = (data / "postgresql.conf").read_text()
    assert "listen_addresses = '127.0.0.1'" in conf and "unix_socket_directories = ''" in conf
    assert url == f"postgresql://postgres@127.0.0.1:{localdb.port(data)}/wallet"
    pids = server_processes(data)

    assert cli(instance) == url  # found the running server, and left it running for `first`
    assert localdb.running(data) == pids[0]
    first.stdin.close()
    assert first.wait(10) == 0
    assert_gone(pids)
    assert (instance / "postgres.users").read_text() == ""
    assert modes(project, WHEEL) == before


def test_a_killed_user_is_pruned_and_the_next_one_out_stops_the_server(project):
    instance = project / "instance"
    killed, url = hold(instance)
    pids = server_processes(instance / "postgres")
    killed.kill()  # no atexit: it stays listed, dead
    killed.wait()
    started = time.monotonic()
    assert cli(instance) == url
    assert time.monotonic() - started < 5
    assert_gone(pids)


def test_a_cluster_whose_initdb_was_cut_short_is_made_again(project):
    (project / "instance" / "postgres").mkdir(parents=True)  # initdb never finished
    assert cli(project / "instance").startswith("postgresql://postgres@127.0.0.1:")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_as_root_data_the_server_user_cannot_reach_goes_to_var_lib(project):
    project.chmod(0o700)  # like a clone under /root: wallet-pg cannot pass
    instance = project / "instance"
    before = modes(project, localdb.SPARE.parent, WHEEL)
    first, url = hold(instance)
    link = instance / "postgres"
    assert link.is_symlink() and link.resolve().is_relative_to(localdb.SPARE)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    pids = server_processes(link.resolve())
    first.stdin.close()
    first.wait(10)
    assert_gone(pids)
    assert modes(project, localdb.SPARE.parent, WHEEL) == before
    spare = link.resolve().parent
    localdb.destroy(instance)
    assert not spare.exists() and not link.is_symlink()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root keeps data in /var/lib")
def test_a_new_clone_at_the_same_path_takes_over_the_data_an_earlier_one_left(project):
    """`make run` in a fresh clone where an earlier clone at the same path left its embedded
    data in /var/lib: the same cluster, with what the earlier one wrote, and no traceback."""
    project.chmod(0o700)
    instance = project / "instance"
    first, url = hold(instance)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE left_behind (n int)")
    first.stdin.close()
    first.wait(10)
    spare = (instance / "postgres").resolve()
    shutil.rmtree(instance)  # rm -rf the clone; clone again at the same path
    assert spare.exists()
    second, again = hold(instance)
    assert again == url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM left_behind").fetchone() == (0,)
    second.stdin.close()
    second.wait(10)
    # An initdb cut short there is made again.
    (spare / "postgresql.conf").write_text("port = 1\n")
    shutil.rmtree(instance)
    assert cli(instance).startswith("postgresql://postgres@127.0.0.1:")


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_make_run_serves_and_ctrl_c_stops_the_app_and_the_database(project):
    """`make run` in a copy of the working tree (sharing this venv), as a developer would: the
    server and the worker beside it, both gone after Ctrl-C with the database."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, project / name)
    (project / ".venv").symlink_to(ROOT / ".venv")
    port = localdb.free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FLASK_DEBUG", "SECRET_KEY")}
    log = open(project / "run.log", "w")
    make = subprocess.Popen(
        ["make", "-o", ".venv/.installed", "run", f"PORT={port}"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", make, project / "run.log")
        # Startup output ends with the sign-in URL, the first run's credentials just before it;
        # only request log lines may follow.
        lines = (project / "run.log").read_text().splitlines()
        last = max(i for i, line in enumerate(lines) if line.startswith("Sign in at"))
        assert lines[last] == f"Sign in at http://127.0.0.1:{port}/login", lines
        assert lines[last - 1].startswith("First run: sign in as admin@example.com with password "), lines
        assert all("GET /readyz" in line or line.startswith("{") or " worker " in line for line in lines[last + 1 :]), (
            lines
        )
        pids = server_processes(project / "instance" / "postgres")
        # The worker runs beside the server (events, webhooks, expiring holds), and stops with it.
        workers = [
            p
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _pgid(int(p.name)) == make.pid and b"worker" in _cmdline(int(p.name))
        ]
        assert workers, (project / "run.log").read_text()
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C in the terminal
        make.wait(30)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        log.close()
    assert_gone(pids)
    left = [
        p
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _pgid(int(p.name)) == make.pid and _stat(int(p.name))[:1] != ["Z"]
    ]
    assert left == [], (project / "run.log").read_text()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _wait_ready(url: str, make: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and make.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"/readyz never answered 200:\n{log.read_text()}")
