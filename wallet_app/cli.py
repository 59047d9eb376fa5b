"""Maintenance commands: flask --app wsgi create-operator | reset-password | demo-data | reconcile |
create-token | expire-holds | serve | worker | seal | verify-chain."""

import os
import random
import secrets
import sys
import uuid

import click
from flask import Flask
from flask.cli import with_appcontext

from . import config
from .errors import WalletError
from .models.accounts import ROLES
from .services.audit import Actor

CLI_ACTOR = Actor(scope="cli", name="cli")
FIRST_RUN = config.INSTANCE / "first-run-credentials"  # the demo admin's, until `serve` has shown them


def register(app: Flask) -> None:
    app.cli.add_command(create_operator)
    app.cli.add_command(demo_data)
    app.cli.add_command(reconcile)
    app.cli.add_command(create_token)
    app.cli.add_command(expire_holds)
    app.cli.add_command(reset_password)
    app.cli.add_command(serve)
    app.cli.add_command(system_shards)
    app.cli.add_command(worker)
    app.cli.add_command(seal)
    app.cli.add_command(verify_chain)


@click.command("create-operator")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
def create_operator(email: str, role: str) -> None:
    """Create a console operator; the password comes from WALLET_OPERATOR_PASSWORD or a prompt."""
    from .services.operators import create_operator as create

    try:
        user = create(email, _password(), role, actor=CLI_ACTOR)
    except WalletError as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from None
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


def _password() -> str:
    """WALLET_OPERATOR_PASSWORD when set, else asked twice on the terminal."""
    password = os.environ.get("WALLET_OPERATOR_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise click.UsageError("No terminal to ask for a password: set WALLET_OPERATOR_PASSWORD.")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@click.command("reset-password")
@with_appcontext
@click.argument("email")
def reset_password(email: str) -> None:
    """Set an operator's password (the way back in for the first admin); from
    WALLET_OPERATOR_PASSWORD or a prompt. Their open sessions end."""
    from .services.operators import set_password

    try:
        user = set_password(email, _password(), actor=CLI_ACTOR)
    except WalletError as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from None
    click.echo(f"Password of {user.role} {user.email} changed; their open sessions have ended.")


@click.command("demo-data")
@with_appcontext
@click.option("--seed", default=7, help="Random seed, for repeatable data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when wallets already exist (first run only).")
def demo_data(seed: int, if_empty: bool) -> None:
    """Create demo wallets in USD and EUR with a few hundred history entries, and a demo admin."""
    from flask import current_app

    from .extensions import db
    from .ledger import operations
    from .models import User, Wallet
    from .services.operators import create_operator as create

    if if_empty and db.session.query(Wallet.id).filter(Wallet.system_purpose.is_(None)).first() is not None:
        return
    rng = random.Random(seed)
    names = [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Katherine Johnson",
        "Edsger Dijkstra",
        "Barbara Liskov",
        "Donald Knuth",
        "Margaret Hamilton",
        "Ken Thompson",
        "Frances Allen",
    ]
    wallets = {"USD": [], "EUR": []}
    for i, name in enumerate(names):
        cur = "USD" if i % 2 == 0 else "EUR"
        w = operations.create_wallet(
            name,
            cur,
            actor=CLI_ACTOR,
            owner_email=name.lower().replace(" ", ".") + "@example.com",
            external_ref=f"CUST-{1000 + i}",
        )
        wallets[cur].append(w["id"])
        operations.fund(
            w["id"],
            f"{rng.randint(500, 5000)}.00",
            idempotency_key=str(uuid.uuid4()),
            actor=CLI_ACTOR,
            reference="Opening deposit",
        )
    moves = 0
    while moves < 300:
        cur = rng.choice(["USD", "EUR"])
        a, b = rng.sample(wallets[cur], 2)
        amount = f"{rng.randint(1, 12000) / 100:.2f}"
        try:
            operations.transfer(
                a,
                b,
                amount,
                idempotency_key=str(uuid.uuid4()),
                actor=CLI_ACTOR,
                reference=rng.choice(["Invoice", "Refund", "Rent share", "Lunch", None]),
            )
            moves += 1
        except WalletError:
            pass  # an overdraft, skipped like a real operator would
    email = "admin@example.com"
    if db.session.query(User).filter_by(email=email).first() is None:
        password = os.environ.get("WALLET_OPERATOR_PASSWORD") or secrets.token_urlsafe(12)
        create(email, password, "admin", actor=CLI_ACTOR)
        click.echo(f"Demo admin: sign in as {email} with password {password}")
        if not current_app.testing:  # `flask serve` repeats it last, then deletes it
            FIRST_RUN.write_text(f"{email} {password}\n")
            FIRST_RUN.chmod(0o600)
    click.echo(
        f"Created {len(names)} wallets and {moves} transfers. "
        "Add operators with: flask --app wsgi create-operator EMAIL --role support"
    )


@click.command("reconcile")
@with_appcontext
def reconcile() -> None:
    """Check every ledger invariant; exit 1 listing each mismatch when any fails."""
    from .extensions import db
    from .finance.reconcile import reconcile as run
    from .finance.reconcile import run_and_keep

    report = run(db.session)
    run_and_keep(CLI_ACTOR, report)  # listed on the Reconcile page with the console's runs
    for check in report.checks:
        state = "ok" if check.passed else f"FAILED ({check.count} mismatches)"
        click.echo(f"{check.name}: {state} - {check.description}")
        for line in check.mismatches:
            click.echo(f"  {line}")
    sys.exit(0 if report.ok else 1)


@click.command("create-token")
@click.argument("name")
@click.option("--scopes", default="read", show_default=True, help="Comma-separated: read,write,manage,approve")
@click.option(
    "--owner",
    default=None,
    help="An operator's email or an existing integration's name (default: a new integration called NAME)",
)
@with_appcontext
def create_token(name: str, scopes: str, owner: str | None) -> None:
    """Create an API token owned by a new integration called NAME, or by --owner (tokens of
    one owner are one person for four eyes); the token is printed alone on the last line,
    and only once."""
    from .services.tokens import create_token as create

    try:
        token, secret = create(name, scopes, actor=CLI_ACTOR, owner=owner)
    except WalletError as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from None
    click.echo(
        f"Created token {token['id']} ({name}, scopes {','.join(token['scopes'])}, owned by "
        f"{token['owner_kind']} {token['owner']}). "
        "It is shown once; store it now:"
    )
    click.echo(secret)


@click.command("expire-holds")
@with_appcontext
def expire_holds() -> None:
    """Mark holds, approval requests and waiting batches past their expiry `expired`,
    releasing what the holds reserve. Safe to run twice or concurrently (from cron or a
    systemd timer): an expired hold already never counts against `available`, nor can an
    expired batch be approved; this makes their status say so."""
    from .formatting import plural
    from .ledger.batches import expire_waiting
    from .ledger.operations import expire_holds as expire

    actor = Actor(scope="cli", name="expire-holds")
    ended = expire(actor=actor)
    batches = expire_waiting(actor=actor)
    click.echo(
        f"Expired {plural(ended, 'hold or request', 'holds and requests')} "
        f"and {plural(batches, 'waiting batch', 'waiting batches')}."
    )


@click.command("seal")
@with_appcontext
def seal() -> None:
    """Seal everything committed so far into the seal chain (the worker does it every
    WORKER_SEAL_EVERY_S; this is for a ledger without one, or before verify-chain)."""
    from .ledger import seals

    n = seals.seal_all()
    lag = seals.lag()
    click.echo(f"Sealed {n:,} links; the chain has {lag.links:,}, its head {lag.head or '(empty)'}.")


@click.command("verify-chain")
@click.option("--limit", default=10, show_default=True, help="How many broken links to list")
@with_appcontext
def verify_chain(limit: int) -> None:
    """Recompute the seal chain from its start; exit 1 naming the first broken links (an edited
    leg or transaction, a deleted row, a link changed or missing)."""
    from .ledger import seals

    found = seals.breaks(limit=limit)
    lag = seals.lag()
    if not found:
        click.echo(
            f"The chain holds: {lag.links:,} links, legs up to {lag.sealed_upto:,} sealed, "
            f"head {lag.head or '(empty)'}; {lag.unsealed_legs:,} legs not sealed yet."
        )
        return
    click.echo(f"The chain is BROKEN. First broken link: {seals.describe(found[0])}")
    for b in found[1:]:
        click.echo(f"  then {seals.describe(b)}")
    sys.exit(1)


@click.command("worker")
@click.option("--once", is_flag=True, help="One round (sequence, deliver what is due, expire), then exit.")
@with_appcontext
def worker(once: bool) -> None:
    """Sequence events, deliver webhooks and expire holds until SIGTERM or Ctrl-C (`make run`
    starts one beside the server). Several may run at once."""
    import logging

    from flask import current_app

    from .events import worker as work

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    logging.getLogger(__name__).info("started: sequencing events, delivering webhooks, sealing, expiring holds")
    work.run(current_app._get_current_object(), once=once)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Serve the console locally (`make run`): bind, then end the output with the sign-in URL
    and, on the first run, the demo admin's credentials, then serve until Ctrl-C."""
    from flask import current_app
    from werkzeug.serving import make_server

    server = make_server(host, port, current_app._get_current_object(), threaded=True)
    click.echo(f"Serving the wallet console on http://{host}:{server.server_port} (Ctrl-C stops it).")
    if FIRST_RUN.exists():
        email, _, password = FIRST_RUN.read_text().strip().partition(" ")
        FIRST_RUN.unlink()
        click.echo(f"First run: sign in as {email} with password {password}")
    click.echo(f"Sign in at http://{host}:{server.server_port}/login")
    sys.stdout.flush()  # a log file or pipe must see it now, not at exit
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@click.command("system-shards")
@click.argument("count", type=int)
@with_appcontext
def system_shards(count: int) -> None:
    """Split each system wallet into COUNT rows per currency: no hot row (docs/DESIGN.md)."""
    from .ledger import operations

    operations.set_system_shards(count, actor=CLI_ACTOR)
    click.echo(f"System wallets: {count} shard{'s' if count != 1 else ''} per purpose and currency.")
