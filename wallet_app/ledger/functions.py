"""The engine's SQL functions: the .sql files in ledger/sql, their one current text, and the
step that (re)creates them in a database (run by migrations/env.py after every upgrade to the
head: migrations change tables, never carry a copy of a function). The same step makes the
system wallets the catalogue names, one per purpose and currency."""

import hashlib
import re
from pathlib import Path

from sqlalchemy import text

from .catalogue import SYSTEM_WALLETS

SQL = Path(__file__).resolve().parent / "sql"
# One file per function, in the order they are created: the SQL-language helpers first (their
# bodies are checked at creation), then ledger_post()'s steps in the order it takes them.
FILES = (
    "ledger_refuse.sql",
    "ledger_round_up.sql",
    "ledger_shard.sql",
    "ledger_count.sql",
    "ledger_flows_of.sql",
    "ledger_audit_details.sql",
    "ledger_flows.sql",
    "ledger_old_holds.sql",
    "ledger_threshold.sql",
    "ledger_claim.sql",
    "ledger_hold.sql",
    "ledger_end_hold.sql",
    "ledger_original.sql",
    "ledger_quote.sql",
    "ledger_legs.sql",
    "ledger_live_held.sql",
    "ledger_leg_refusal.sql",
    "ledger_check.sql",
    "ledger_must_wait.sql",
    "ledger_request.sql",
    "ledger_write.sql",
    "ledger_write_set.sql",
    "ledger_post.sql",
    "ledger_batch_item.sql",
    "ledger_batch_legs.sql",
    "ledger_batch_run.sql",
    "ledger_batch.sql",
    # the events every change writes in its transaction (triggers; docs/DESIGN.md, "Events")
    "events_of_transactions.sql",
    "events_of_batches.sql",
    "events_of_wallets.sql",
    # the seal chain over posted history, sealed after commits (docs/DESIGN.md, "The seal chain")
    "ledger_seal_canon.sql",
    "ledger_seal.sql",
    "ledger_seal_breaks.sql",
)
_CREATE = re.compile(r"^CREATE FUNCTION (\w+)\(.*?AS \$\$(.*?)\$\$", re.S | re.M)


def texts() -> list[str]:
    return [(SQL / name).read_text() for name in FILES]


def definitions() -> dict[str, str]:
    """Each function the files define, by name: its body as PostgreSQL keeps it (prosrc)."""
    return {name: body for text in texts() for name, body in _CREATE.findall(text)}


def version() -> str:
    """The files' whole text, hashed: headers (parameters, volatility, settings) as well as
    bodies. install_sql() leaves it as the comment of ledger_post()."""
    return "wallet_app/ledger/sql sha256:" + hashlib.sha256("".join(texts()).encode()).hexdigest()


def installed_version(connection) -> list[str | None]:
    """The comment of each ledger_post() the database has (one, when all is well)."""
    return (
        connection.execute(
            text(
                "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = current_schema() AND p.proname = 'ledger_post'"
            )
        )
        .scalars()
        .all()
    )


def installed(connection) -> dict[str, list[str]]:
    """The bodies the database keeps for each of the engine's function names (one per
    signature it has)."""
    rows = connection.execute(
        text(
            "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname = ANY (:names)"
        ),
        {"names": list(definitions())},
    ).all()
    found: dict[str, list[str]] = {}
    for name, body in rows:
        found.setdefault(name, []).append(body)
    return found


def install(connection) -> bool:
    """Make the database's functions the files' text; whether anything changed. Nothing is
    dropped when they already are, headers and bodies (a running app's prepared calls keep
    working). A function edited by hand in the database is put back by the next change to the
    files, not before."""
    connection.execute(text(system_wallets_sql()))
    current = installed_version(connection) == [version()]
    if current and installed(connection) == {name: [body] for name, body in definitions().items()}:
        return False
    connection.execute(text(install_sql()))  # as Alembic's op.execute() runs a script
    return True


def install_sql() -> str:
    """Drop every version of the engine's functions (any signature an older text had), then
    create them from the files: one script, run in the migration's own transaction."""
    names = ", ".join(f"'{name}'" for name in definitions())
    drop = f"""
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname IN ({names}) LOOP
        EXECUTE 'DROP FUNCTION ' || f || ' CASCADE';
    END LOOP;
END $$;
"""
    return system_wallets_sql() + drop + "\n".join(texts()) + f";\nCOMMENT ON FUNCTION ledger_post IS '{version()}';\n"


def system_wallets_sql() -> str:
    """One wallet per purpose of the catalogue, currency and shard (ledger_settings.system_shards),
    made if missing; whether it is unbounded follows the catalogue. The catalogue's own
    names, never a caller's."""
    purposes = ", ".join(f"('{w.purpose}', {str(w.unbounded).lower()})" for w in SYSTEM_WALLETS.values())
    return f"""
INSERT INTO wallets (owner_name, currency, system_purpose, unbounded, shard)
SELECT initcap(p.purpose) || ' (' || c.code || ')', c.code, p.purpose, p.unbounded, n.shard
FROM currencies c CROSS JOIN (VALUES {purposes}) p(purpose, unbounded)
CROSS JOIN generate_series(0, coalesce((SELECT s.system_shards FROM ledger_settings s), 1) - 1) n(shard)
ORDER BY c.code, p.purpose, n.shard
ON CONFLICT (system_purpose, currency, shard) WHERE system_purpose IS NOT NULL
DO UPDATE SET unbounded = EXCLUDED.unbounded
WHERE wallets.unbounded IS DISTINCT FROM EXCLUDED.unbounded;
"""
