"""Matching a bank's statement to the ledger (docs/DESIGN.md, "Bank statements"), set-based:
one COPY of the lines, one insert that skips lines already imported, then a handful of
INSERT ... SELECT statements per rule, whatever the statement's size."""

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from .. import reads
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import BankReconciliation
from ..money import check_currency, format_amount, parse_amount
from ..services import audit
from ..services.atomic import atomic
from ..services.audit import Actor
from ..services.serialize import iso
from ..services.validate import cursor as check_cursor
from ..services.validate import wallet_id as check_id
from . import bank_csv, bank_sql
from .bank_csv import Layout

DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS = 2, 31
ROUNDS = 5  # mutual-best rounds per rule: each pairs at least one line while any candidate is left
LISTED = 1000  # unmatched items listed in an answer; the breaks CSV has them all


def import_statement(
    currency,
    csv_text: str,
    *,
    actor: Actor,
    layout: "Layout | str | None" = None,
    tolerance=None,
    window_days=None,
    save_layout: str | None = None,
) -> dict:
    """Import the statement's lines (those not imported before) and match them; the answer of
    POST /reconciliations. `layout`: a saved layout's name, a Layout, or None (the default
    columns). A line that cannot be read refuses the whole file (InvalidStatement)."""
    currency = check_currency(currency)
    tol = parse_amount(tolerance or "0", currency, "tolerance", allow_zero=True)
    window = _window(window_days)
    chosen = bank_csv.saved(layout) if isinstance(layout, str) else layout or bank_csv.DEFAULT
    rows = bank_csv.read(csv_text, chosen, currency)
    days = [r[2] for r in rows]

    def op(s: Session) -> dict:
        lock(s, currency)
        named = bank_csv.save(s, save_layout, chosen, actor) if save_layout else chosen
        rec = BankReconciliation(
            currency=currency, tolerance=tol, window_days=window, layout=named.name, line_count=0, imported=0,
            duplicates=0, matched=0, first_day=min(days), last_day=max(days), created_by=actor.name,
        )  # fmt: skip
        s.add(rec)
        s.flush()
        imported = bank_sql.load_lines(s, rec.id, currency, rows)
        matched = bank_sql.match(s, rec.id, currency, _range(rec), tol, window, actor.name, ROUNDS)
        rec.line_count, rec.imported, rec.duplicates, rec.matched = len(rows), imported, len(rows) - imported, matched
        audit.record(
            s, actor, "statement.import", "bank_reconciliation", rec.id, currency=currency,
            lines=len(rows), duplicates=len(rows) - imported, matched=matched, tolerance=str(tol), window_days=window,
        )  # fmt: skip
        s.flush()
        return summary(rec.id, s)

    return atomic(db.session, op)


def lock(s: Session, currency: str) -> None:
    """Uploads and links of one currency queue: each sees the others' matches (a movement
    matches at most one line, and a racing pair would otherwise break the unique key)."""
    s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('bank statement ' || :c, 0))"), {"c": currency})


def _window(value) -> int:
    if value is None or value == "":
        return DEFAULT_WINDOW_DAYS
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 3:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_WINDOW_DAYS:
        raise InvalidInput(
            f"The date window is a whole number of days from 0 to {MAX_WINDOW_DAYS}.", field="window_days"
        )
    return value


def _range(rec) -> tuple[datetime, datetime]:
    """The ledger's movements a statement is compared with: its days widened by the window (UTC)."""
    start = datetime.combine(rec.first_day - timedelta(days=rec.window_days), time(), timezone.utc)
    end = datetime.combine(rec.last_day + timedelta(days=rec.window_days + 1), time(), timezone.utc)
    return start, end


def get(reconciliation_id, session: Session | None = None) -> BankReconciliation:
    rec = (session or db.session).get(BankReconciliation, check_id(reconciliation_id, "reconciliation_id"))
    if rec is None:
        raise NotFound("No such reconciliation.", field="reconciliation_id")
    return rec


def summary(reconciliation_id, session: Session | None = None, listed: int = LISTED) -> dict:
    """A reconciliation as it stands now: counts, and its breaks on both sides (the first
    `listed` of each, with their totals)."""
    s = session or reads.session()
    rec = get(reconciliation_id, s)
    start, end = _range(rec)
    lines = bank_sql.open_lines(s, rec.id, listed)
    ledger = bank_sql.open_ledger(s, rec.currency, start, end, listed)
    return {
        "id": rec.id,
        "currency": rec.currency,
        "lines": rec.line_count,
        "imported": rec.imported,
        "duplicates": rec.duplicates,
        "matched": rec.imported - lines["count"],
        "tolerance": _money(rec.tolerance, rec.currency),
        "window_days": rec.window_days,
        "layout": rec.layout,
        "first_day": rec.first_day.isoformat(),
        "last_day": rec.last_day.isoformat(),
        "created_by": rec.created_by,
        "created_at": iso(rec.created_at),
        "unmatched_statement": [_line(r, rec.currency) for r in lines["rows"]],
        "unmatched_statement_count": lines["count"],
        "unmatched_ledger": [_movement(r, rec.currency) for r in ledger["rows"]],
        "unmatched_ledger_count": ledger["count"],
        "listed_at_most": listed,
    }


def recent(cursor=None, limit: int = 50) -> tuple[list[dict], int | None]:
    """Reconciliations newest first, keyset-paged on id, with their open breaks counted now."""
    rows = bank_sql.recent(reads.session(), check_cursor(cursor), limit + 1)
    more = len(rows) > limit
    listed = [
        {
            "id": r.id,
            "currency": r.currency,
            "lines": r.line_count,
            "imported": r.imported,
            "duplicates": r.duplicates,
            "open_breaks": r.open,
            "first_day": r.first_day.isoformat(),
            "last_day": r.last_day.isoformat(),
            "created_by": r.created_by,
            "created_at": iso(r.created_at.astimezone(timezone.utc)),
        }
        for r in rows[:limit]
    ]
    return listed, str(rows[limit - 1].id) if more else None


def _money(value: Decimal, currency: str) -> str:
    return format_amount(value, currency)


def _line(r, currency: str) -> dict:
    return {
        "line_id": r.id,
        "line": r.line_no,
        "bank_id": r.bank_id,
        "date": r.value_date.isoformat() if isinstance(r.value_date, date) else r.value_date,
        "amount": _money(r.amount, currency),
        "reference": r.reference or None,
        "description": r.description or None,
        "status": r.status,
        "adjustment_id": r.adjustment_id,
    }


def _movement(r, currency: str) -> dict:
    return {
        "transaction_id": r.id,
        "kind": r.kind,
        "created_at": iso(r.created_at.astimezone(timezone.utc)),
        "amount": _money(r.amount, currency),
        "reference": r.reference,
        "wallet_id": r.wallet_id,
    }


def line_now(reconciliation_id, line_id) -> dict:
    """One line of a reconciliation and its standing now (the console's row after a resolution)."""
    rec = get(reconciliation_id, db.session)
    found = bank_sql.one_line(db.session, rec.id, check_id(line_id, "line_id"))
    if found is None:
        raise NotFound("No such line in this reconciliation.", field="line_id")
    return _line(found, rec.currency)
