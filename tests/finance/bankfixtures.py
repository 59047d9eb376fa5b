"""A ledger and the bank's statement of it, generated through the services."""

import uuid
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import text

from tests.conftest import approved
from wallet_app.ledger import operations


def k() -> str:
    return str(uuid.uuid4())


def today() -> date:
    return datetime.now(timezone.utc).date()


def day(offset: int = 0) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def fund(wallet_id, amount, actor, reference=None) -> dict:
    return approved(operations.fund(wallet_id, amount, idempotency_key=k(), actor=actor, reference=reference))


def withdraw(wallet_id, amount, actor, reference=None) -> dict:
    return approved(operations.withdraw(wallet_id, amount, idempotency_key=k(), actor=actor, reference=reference))


def statement(*lines, header="id,date,amount,reference,description") -> str:
    """A CSV statement: each line a tuple of its cells."""
    return "\n".join([header, *(",".join(str(c) for c in line) for line in lines)]) + "\n"


def counts(session) -> dict:
    """Everything an upload writes, counted: a refused one must leave it as it was."""
    tables = ("bank_reconciliations", "bank_lines", "bank_matches", "bank_layouts")
    return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}


def audit(session, action: str) -> list:
    return session.execute(
        text("SELECT object_id, details FROM audit_log WHERE action = :a ORDER BY id"), {"a": action}
    ).all()
