"""The restore drill on the app's own ledger (issue 29; `make restore-drill` runs it alone). The
app (gunicorn) runs on a Patroni cluster through HAProxy, its reads on the replicas' port;
pgBackRest archives the leader's WAL and takes a full and an incremental backup while
legitimate movements go through the API; a moment is noted, then a batch is posted by
mistake. A point-in-time restore to just before that moment, into a fresh cluster on another
port, holds exactly the transactions the original's event feed shows before the moment, the
wrong batch not among them; the app started on it shows the balances of that moment, and
reconcile passes there."""

import os
import subprocess
import time
import uuid
from contextlib import closing
from decimal import Decimal

import psycopg

from tests import bank, pg
from tests.conftest import migrate
from tests.ha.cluster import Backups, Proxy, _wait, primary, start_cluster
from tests.scale.servers import Instance, tool


def flask(env: dict, *args: str) -> str:
    done = subprocess.run(
        [str(bank.ROOT / ".venv/bin/flask"), "--app", "wsgi", *args],
        cwd=bank.ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def app_env(url: str, **extra: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": uuid.uuid4().hex,
        "API_RATE_LIMIT": "1000000/minute",
        "PYTHONPATH": str(bank.ROOT),
        **extra,
    }
    env.pop("REDIS_URL", None)  # one instance: read-your-writes kept in its memory
    return env


def test_a_restore_drill_brings_the_ledger_back_to_just_before_a_wrong_batch(capsys):
    for name in ("etcd", "patroni", "haproxy", "pgbackrest"):
        tool(name)  # `make test` installs them (make scale-tools)
    backups = Backups()
    etcd, nodes = start_cluster(2, archive=backups.archive_command)
    proxy = app = restored = on_restored = None
    try:
        proxy = Proxy(nodes)
        backups.configure(primary(nodes))
        backups.run("stanza-create")
        with closing(psycopg.connect(proxy.primary_url, autocommit=True)) as conn:
            conn.execute("CREATE DATABASE wallet")
        url = proxy.url("wallet")
        migrate(url)
        env = app_env(url, REPLICA_DATABASE_URL=proxy.url("wallet", replica=True), REPLICA_MAX_LAG_SECONDS="60")
        token = flask(env, "create-token", "drill", "--scopes", "read,write").splitlines()[-1]
        reader = flask(env, "create-token", "drill-reader", "--scopes", "read").splitlines()[-1]
        app = Instance(env, workers=1)  # one process: it remembers its principals' last writes
        api = bank.Api(app.port, token)

        def move(path: str, body: dict) -> dict:
            status, data = api.call("POST", path, body, key=str(uuid.uuid4()))
            assert status == 201, (status, data)
            return data

        wallets = []
        for i in range(4):
            status, wallet = api.call("POST", "/api/v1/wallets", {"owner_name": f"Drill {i}", "currency": "USD"})
            assert status == 201, wallet
            wallets.append(wallet["id"])
            move(f"/api/v1/wallets/{wallet['id']}/fund", {"amount": "100.00"})

        def transfers(n: int) -> None:
            for i in range(n):
                a, b = wallets[i % 4], wallets[(i + 1) % 4]
                move("/api/v1/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": f"{i + 1}.25"})

        backups.run("backup", "--type=full")
        transfers(10)
        backups.run("backup", "--type=incr")
        transfers(10)

        # The replica reads of docs/SCALING.md through the replicas' port: with the standby's
        # replay paused, a read-only token still reads the balance from before a transfer (the
        # replica answered), while the token that made it reads its own write (the primary).
        def balance(who: str) -> str:
            status, data = bank.Api(app.port, who).call("GET", f"/api/v1/wallets/{wallets[0]}")
            assert status == 200, data
            return data["balance"]

        on_replica = psycopg.connect(proxy.url("wallet", replica=True), autocommit=True)
        with closing(on_replica):
            assert on_replica.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            _wait(lambda: balance(reader) == balance(token), "the replica caught up", 30)
            was = balance(reader)
            on_replica.execute("SELECT pg_wal_replay_pause()")
            move("/api/v1/transfers", {"from_wallet_id": wallets[0], "to_wallet_id": wallets[1], "amount": "1.00"})
            assert (balance(reader), balance(token)) == (was, f"{Decimal(was) - 1:.2f}")
            on_replica.execute("SELECT pg_wal_replay_resume()")
            _wait(lambda: balance(reader) == balance(token), "the replica caught up again", 30)

        balances = {w: bank.Api(app.port, token).call("GET", f"/api/v1/wallets/{w}")[1]["balance"] for w in wallets}
        with closing(psycopg.connect(url, autocommit=True)) as conn:
            time.sleep(0.2)
            moment = conn.execute("SELECT now()::text").fetchone()[0]  # the mistake comes after this
            time.sleep(0.2)
        items = [{"kind": "transfer", "from_wallet_id": wallets[0], "to_wallet_id": wallets[1], "amount": "7.00"}] * 5
        batch = move("/api/v1/batches", {"mode": "independent", "items": items})
        wrong = {item["transaction"]["id"] for item in batch["items"]}
        assert len(wrong) == 5
        with closing(psycopg.connect(url, autocommit=True)) as conn:
            # What the original's event feed says was committed before the moment, and after.
            before, after = (
                {r[0] for r in conn.execute(
                    f"SELECT object_id FROM events WHERE object_type = 'transaction' AND created_at {op} %s", (moment,)
                )}
                for op in ("<", ">=")
            )  # fmt: skip
            everything = {r[0] for r in conn.execute("SELECT id FROM transactions")}
            conn.execute("SELECT pg_switch_wal()")
        assert after == wrong and before == everything - wrong and len(before) == 25

        backups.run("check")  # every WAL up to now archived
        info = backups.run("info")
        assert "full backup" in info and "incr backup" in info, info
        started = time.monotonic()
        restored = backups.restore_at(moment)
        with closing(psycopg.connect(restored.url, autocommit=True)) as conn:
            _wait(lambda: not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0], "promoted", 60)
        took = time.monotonic() - started
        restored_url = pg.with_database(restored.url, "wallet")
        with closing(psycopg.connect(restored_url, autocommit=True)) as conn:
            kept = {r[0] for r in conn.execute("SELECT id FROM transactions")}
            batches = conn.execute("SELECT count(*) FROM batches WHERE id = %s", (batch["id"],)).fetchone()[0]
        assert kept == before and not kept & wrong and batches == 0

        on_restored = Instance(app_env(restored_url))  # the app on the restored cluster
        restored_api = bank.Api(on_restored.port, token)
        assert {w: restored_api.call("GET", f"/api/v1/wallets/{w}")[1]["balance"] for w in wallets} == balances
        checks = flask(app_env(restored_url), "reconcile")  # exit 0: every check passes
        with capsys.disabled():
            print(
                f"\n[ha] restore drill: restored to {moment} (before a wrong batch of {len(wrong)}) in {took:.1f} s "
                f"(pgbackrest restore, replay, promotion): {len(kept)} transactions as the event feed has them, "
                f"balances as the app showed them, reconcile: {checks.count(': ok')} checks ok"
            )
    finally:
        for server in (on_restored, app):
            if server is not None:
                server.stop()
        if restored is not None:
            restored.stop()
        if proxy is not None:
            proxy.stop()
        for node in nodes:
            node.stop()
        etcd.stop()
        backups.stop()
