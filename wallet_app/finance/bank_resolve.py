"""Clearing a statement's breaks: a line linked by hand to the movements it stands for, or an
adjustment (four eyes) asked on a customer wallet, which clears it once a second person posts
it. Each resolution is audited; the exports of the breaks are here too."""

from collections.abc import Iterator
from datetime import timezone
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..errors import CurrencyMismatch, InvalidInput, NotFound
from ..extensions import db
from ..ledger import operations, queries
from ..money import format_amount
from ..services import audit, validate
from ..services.atomic import atomic
from ..services.audit import Actor
from . import bank, bank_sql
from .exports import _rows_as_csv, neutralise

MAX_LINKED = 100
LINE = f"""
    SELECT l.id, l.reconciliation_id, l.currency, l.line_no, l.amount, r.tolerance, s.status
    FROM bank_lines l JOIN bank_reconciliations r ON r.id = l.reconciliation_id {bank_sql.LINE_STATUS}
    WHERE l.id = :line AND l.reconciliation_id = :rec"""
MOVEMENTS = """
    SELECT t.id, t.kind, t.currency, t.status, t.amount, m.line_id AS matched_to
    FROM transactions t LEFT JOIN bank_matches m ON m.transaction_id = t.id WHERE t.id = ANY (:ids)"""


def line(s: Session, reconciliation_id, line_id):
    """A line of the reconciliation with its standing; one that is not open is refused."""
    found = s.execute(
        text(LINE),
        {
            "rec": validate.wallet_id(reconciliation_id, "reconciliation_id"),
            "line": validate.wallet_id(line_id, "line_id"),
        },
    ).first()
    if found is None:
        raise NotFound("No such line in this reconciliation.", field="line_id")
    if found.status != "open":
        raise InvalidInput(f"Line {found.line_no} is already {found.status.replace('_', ' ')}.", field="line_id")
    return found


def link(reconciliation_id, line_id, transaction_ids, *, actor: Actor) -> dict:
    """Match a line by hand to movements of its currency and direction (funds for money in,
    withdrawals for money out), posted, matched to no other line, that sum to its amount
    within the reconciliation's tolerance."""
    ids = _ids(transaction_ids)

    def op(s: Session) -> dict:
        rec = bank.get(reconciliation_id, s)
        bank.lock(s, rec.currency)
        found = line(s, rec.id, line_id)
        kind = "fund" if found.amount > 0 else "withdrawal"
        movements = {m.id: m for m in s.execute(text(MOVEMENTS), {"ids": ids})}
        for i in ids:
            m = movements.get(i)
            problem = (
                "does not exist" if m is None
                else f"is in {m.currency}, the statement in {found.currency}" if m.currency != found.currency
                else f"is a {m.kind}; money {'in' if kind == 'fund' else 'out'} matches a {kind}" if m.kind != kind
                else f"is {m.status.replace('_', ' ')}, not posted" if m.status != "posted"
                else "is matched to another line already" if m.matched_to is not None
                else None
            )  # fmt: skip
            if problem:
                raise InvalidInput(f"Transaction {i} {problem}.", field="transaction_ids")
        total = sum((movements[i].amount for i in ids), Decimal(0))
        if abs(total - abs(found.amount)) > found.tolerance:
            raise InvalidInput(
                f"The movements add up to {format_amount(total, found.currency)}; the line is "
                f"{format_amount(abs(found.amount), found.currency)} "
                f"(tolerance {format_amount(found.tolerance, found.currency)}).",
                field="transaction_ids",
            )
        _write(s, found.id, ids, "manual", actor)
        audit.record(
            s,
            actor,
            "statement.link",
            "bank_line",
            found.id,
            reconciliation=rec.id,
            line=found.line_no,
            transactions=ids,
        )
        return {"line_id": found.id, "status": "matched", "transaction_ids": ids}

    return atomic(db.session, op)


def adjust(reconciliation_id, line_id, wallet_id, reason, *, idempotency_key, actor: Actor) -> dict:
    """Ask an adjustment of the line's amount on a customer wallet (a credit for money in, a
    debit for money out), always waiting for a second person, and name it as the line's. The
    engine's request commits first; the form's idempotency key makes a retry of the pair
    replay it and write the link once (ON CONFLICT on the adjustment)."""
    reason = validate.text(reason, "reason", 400, required=True)
    rec = bank.get(reconciliation_id)
    found = line(db.session, rec.id, line_id)
    wallet = queries.get_wallet(wallet_id)
    if wallet["currency"] != found.currency:
        raise CurrencyMismatch(
            f"The wallet is in {wallet['currency']}; the line in {found.currency}.", field="wallet_id"
        )
    values = {
        "amount": format_amount(abs(found.amount), found.currency),
        "direction": "credit" if found.amount > 0 else "debit",
        "reason": f"Statement {rec.id}, line {found.line_no}: {reason}",
    }
    asked = operations.ask("adjustment", wallet["id"], values, idempotency_key=idempotency_key, actor=actor).transaction

    def op(s: Session) -> dict:
        bank.lock(s, found.currency)
        if _write(s, found.id, [asked["id"]], "adjustment", actor):
            audit.record(
                s, actor, "statement.adjust", "bank_line", found.id, reconciliation=rec.id, line=found.line_no,
                transaction=asked["id"], wallet=wallet["id"], amount=values["amount"], direction=values["direction"],
            )  # fmt: skip
        return {"line_id": found.id, "status": asked["status"], "adjustment": asked}

    return atomic(db.session, op)


def _signed(movement) -> Decimal:
    """A movement as the bank would show it: money in positive, money out negative."""
    return movement.amount if movement.kind == "fund" else -movement.amount


def _write(s: Session, line_id: int, ids: list[int], rule: str, actor: Actor) -> int:
    return s.execute(
        text(
            "INSERT INTO bank_matches (line_id, transaction_id, rule, matched_by) "
            "SELECT :line, unnest(CAST(:ids AS bigint[])), :rule, :actor ON CONFLICT (transaction_id) DO NOTHING"
        ),
        {"line": line_id, "ids": ids, "rule": rule, "actor": actor.name},
    ).rowcount


def _ids(value) -> list[int]:
    """Transaction ids as a list or as text separated by commas or spaces, each once."""
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list) or not value:
        raise InvalidInput("Name the transaction ids the line stands for.", field="transaction_ids")
    if len(value) > MAX_LINKED:
        raise InvalidInput(f"At most {MAX_LINKED} transactions.", field="transaction_ids")
    ids = [validate.wallet_id(v, "transaction_ids") for v in value]
    if len(set(ids)) != len(ids):
        raise InvalidInput("Each transaction once.", field="transaction_ids")
    return ids


BREAK_COLUMNS = [
    "side", "status", "line", "bank_id", "date", "amount", "reference", "description", "transaction_id", "kind",
    "wallet_id", "adjustment_id",
]  # fmt: skip


def breaks_csv(reconciliation_id) -> Iterator[bytes]:
    """Every break of both sides, none left out: the statement's lines not matched, then the
    ledger's movements in its range that no line matched. The bank's text is neutralised."""
    from .. import reads

    s = reads.session()
    rec = bank.get(reconciliation_id, s)
    lines = bank_sql.open_lines(s, rec.id, None)["rows"]
    ledger = bank_sql.open_ledger(s, rec.currency, *bank._range(rec), None)["rows"]
    c = rec.currency
    rows = [
        ["statement", r.status, r.line_no, neutralise(r.bank_id), r.value_date.isoformat(), format_amount(r.amount, c),
         neutralise(r.reference), neutralise(r.description), "", "", "", r.adjustment_id or ""]
        for r in lines
    ] + [
        ["ledger", "open", "", "", r.created_at.astimezone(timezone.utc).date().isoformat(),
         format_amount(_signed(r), c), neutralise(r.reference), "", r.id, r.kind, r.wallet_id or "", ""]
        for r in ledger
    ]  # fmt: skip
    return _rows_as_csv(BREAK_COLUMNS, rows)
