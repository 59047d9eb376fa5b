"""The seal chain over posted history (docs/DESIGN.md, "The seal chain"): sealing after commits
(the worker, `flask seal`) and checking (`flask verify-chain`, reconcile). The SQL is the one
copy (ledger/sql/ledger_seal*.sql); this module runs it and says what it found."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..extensions import db
from ..services.atomic import atomic

_SEAL = text("SELECT sealed, sealed_upto FROM ledger_seal(:max_legs)")
_STATE = text("""
    SELECT st.sealed_upto,
           (SELECT count(*) FROM ledger_seals) AS links,
           (SELECT s.hash FROM ledger_seals AS s ORDER BY s.seq DESC LIMIT 1) AS head,
           (SELECT h.created_at FROM wallet_history AS h WHERE h.id > st.sealed_upto ORDER BY h.id LIMIT 1)
               AS oldest_unsealed,
           (SELECT count(*) FROM wallet_history AS h WHERE h.id > st.sealed_upto) AS unsealed_legs,
           now() AS now
    FROM ledger_seal_state AS st WHERE st.id = 1""")
_BREAKS = text("SELECT seq, transaction_id, leg_id, problem FROM ledger_seal_breaks(:limit)")


@dataclass(frozen=True)
class Lag:
    """How far sealing is behind: legs committed and not yet sealed, and the age of the oldest."""

    sealed_upto: int
    links: int
    head: str | None
    unsealed_legs: int
    seconds: float

    def as_dict(self) -> dict:
        return vars(self).copy()


def seal(max_legs: int = 50_000) -> int:
    """One round: seal the legs whose transactions have all ended since the last round (at most
    `max_legs`), then note where the next round starts. The number of links written."""
    return atomic(db.session, lambda s: s.execute(_SEAL, {"max_legs": max_legs}).one().sealed)


def seal_all(max_legs: int = 50_000) -> int:
    """Round after round until a round seals nothing twice in a row (the second round seals
    what the first read): the links written."""
    total, idle = 0, 0
    while idle < 2:
        n = seal(max_legs)
        total += n
        idle = 0 if n else idle + 1
    return total


def lag(session: Session | None = None) -> Lag:
    row = (session or db.session).execute(_STATE).one()
    seconds = (row.now - row.oldest_unsealed).total_seconds() if isinstance(row.oldest_unsealed, datetime) else 0.0
    return Lag(row.sealed_upto, row.links, row.head.hex() if row.head else None, row.unsealed_legs, max(seconds, 0.0))


def breaks(session: Session | None = None, limit: int = 1) -> list[dict]:
    """The first broken links, in chain order (none: the chain holds). Each names the link
    (`seq`), its transaction, or the leg no link covers, and what is wrong."""
    rows = (session or db.session).execute(_BREAKS, {"limit": limit}).all()
    return [dict(r._mapping) for r in rows]


def describe(b: dict) -> str:
    where = f"link {b['seq']}" if b["seq"] is not None else f"leg {b['leg_id']}"
    return f"{where} (transaction {b['transaction_id']}): {b['problem']}"
