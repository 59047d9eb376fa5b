"""Reconciliation: each ledger invariant of docs/DESIGN.md ("Invariants") as a named check,
with the figures behind it (what it examined, per-currency totals, time taken); runs are kept."""

import time
from dataclasses import dataclass, field
from itertools import groupby

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..ledger import seals
from ..ledger.catalogue import KINDS, SYSTEM_WALLETS
from ..money import format_amount

MAX_LISTED = 50  # mismatches listed per check; the count is always exact


@dataclass
class Check:
    name: str
    description: str
    mismatches: list[str] = field(default_factory=list)
    count: int = 0
    examined: str = ""  # what it looked at, e.g. "1,204 wallets" (filled in by reconcile())
    ms: float = 0.0

    @property
    def passed(self) -> bool:
        return self.count == 0

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.mismatches) < MAX_LISTED:
            self.mismatches.append(message)


@dataclass
class Report:
    checks: list[Check]
    totals: list[dict] = field(default_factory=list)
    ms: float = 0.0
    seal: dict = field(default_factory=dict)  # how far sealing is behind (seals.Lag)

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    def figures(self) -> dict:
        """What a kept run stores (JSON)."""
        return {
            "checks": [
                {
                    "name": c.name,
                    "description": c.description,
                    "count": c.count,
                    "examined": c.examined,
                    "ms": round(c.ms, 1),
                    "mismatches": c.mismatches,
                }
                for c in self.checks
            ],
            "totals": self.totals,
            "seal": self.seal,
        }


# What each check reads, counted once per run: "examined" beside its result.
_SCOPE = """SELECT (SELECT count(*) FROM wallets) AS wallets, (SELECT count(*) FROM transactions) AS transactions,
                   (SELECT count(*) FROM wallet_history) AS legs, (SELECT count(*) FROM idempotency_keys) AS keys,
                   (SELECT count(*) FROM currencies) AS currencies"""
_EXAMINES = {
    "wallet_balances": "wallets",
    "balance_after_chain": "legs",
    "transaction_legs": "transactions",
    "currency_totals": "currencies",
    "limits": "wallets",
    "idempotency_keys": "keys",
    "known_kinds": "transactions",
    "reversals": "transactions",
    "fees_collected": "currencies",
    "holds": "wallets",
    "fx_positions": "transactions",
    "seal_chain": "legs",
}
_NOUNS = {
    "wallets": ("wallet", "wallets"),
    "legs": ("leg", "legs"),
    "transactions": ("transaction", "transactions"),
    "keys": ("idempotency key", "idempotency keys"),
    "currencies": ("currency", "currencies"),
}


def reconcile(s: Session) -> Report:
    """Run every check; each lists its mismatches and the amounts behind them. Read-only."""
    started = time.perf_counter()
    scope = _rows(s, _SCOPE)[0]._asdict()
    checks = []
    for run in CHECKS:
        t = time.perf_counter()
        check = run(s)
        check.ms = (time.perf_counter() - t) * 1000
        what = _EXAMINES.get(check.name)
        if what:
            n = scope[what]
            check.examined = f"{n:,} {_NOUNS[what][n != 1]}"
        checks.append(check)
    totals = []
    for currency, rows in groupby(
        _rows(
            s,
            """SELECT currency, system_purpose, sum(balance) AS balance FROM wallets
               GROUP BY currency, system_purpose ORDER BY currency, system_purpose NULLS FIRST""",
        ),
        key=lambda r: r.currency,
    ):
        balances = {r.system_purpose: r.balance for r in rows}
        total, empty = sum(balances.values()), not any(balances.values())
        totals.append(
            {
                "currency": currency,
                "customers": format_amount(balances.pop(None, 0), currency),
                # every system wallet of the catalogue, in its order, then any other purpose found
                "system": [
                    {"label": w.label, "balance": format_amount(balances.get(w.purpose, 0), currency)}
                    for w in SYSTEM_WALLETS.values()
                ]
                + [
                    {"label": p, "balance": format_amount(b, currency)}
                    for p, b in balances.items()
                    if p not in SYSTEM_WALLETS
                ],
                "sum": format_amount(total, currency),
                "empty": empty,
            }
        )
    return Report(checks, totals, (time.perf_counter() - started) * 1000, seals.lag(s).as_dict())


def _rows(s: Session, sql: str, **params):
    return s.execute(text(sql), params).all()


def wallet_balances(s: Session) -> Check:
    check = Check("wallet_balances", "per wallet: balance = sum of its legs = balance_after of its newest leg")
    for r in _rows(
        s,
        """
            SELECT w.id, w.currency, w.balance, coalesce(l.total, 0) AS total, coalesce(n.balance_after, 0) AS newest
            FROM wallets w
            LEFT JOIN (SELECT wallet_id, sum(amount) AS total, max(id) AS last_id
                       FROM wallet_history GROUP BY wallet_id) l ON l.wallet_id = w.id
            LEFT JOIN wallet_history n ON n.id = l.last_id
            WHERE w.balance <> coalesce(l.total, 0) OR w.balance <> coalesce(n.balance_after, 0)
            ORDER BY w.id""",
    ):
        check.add(
            f"wallet {r.id}: balance {format_amount(r.balance, r.currency)}, legs sum to "
            f"{format_amount(r.total, r.currency)}, newest balance_after {format_amount(r.newest, r.currency)}"
        )
    return check


def balance_chain(s: Session) -> Check:
    check = Check("balance_after_chain", "every leg's balance_after = the previous leg's + its amount")
    for r in _rows(
        s,
        """
            SELECT h.id, h.wallet_id, w.currency, h.amount, h.balance_after, h.previous
            FROM (SELECT id, wallet_id, amount, balance_after,
                         coalesce(lag(balance_after) OVER (PARTITION BY wallet_id ORDER BY id), 0) AS previous
                  FROM wallet_history) h JOIN wallets w ON w.id = h.wallet_id
            WHERE h.balance_after <> h.previous + h.amount ORDER BY h.id""",
    ):
        check.add(
            f"leg {r.id} of wallet {r.wallet_id}: {format_amount(r.previous, r.currency)} + "
            f"{format_amount(r.amount, r.currency)} is not {format_amount(r.balance_after, r.currency)}"
        )
    return check


def transaction_legs(s: Session) -> Check:
    check = Check(
        "transaction_legs",
        "per transaction: legs sum to zero per currency, as many as its kind has "
        "(its fee leg aside); none while it is not posted",
    )
    expected = {name: kind.leg_count for name, kind in KINDS.items()}
    for r in _rows(
        s,
        """
            SELECT t.id, t.kind, coalesce(o.kind, t.kind) AS shape, t.status, coalesce(l.legs, 0) AS legs,
                   l.unbalanced
            FROM transactions t
            LEFT JOIN transactions o ON o.id = t.reverses_transaction_id  -- a reversal has the legs of what it reverses
            LEFT JOIN (SELECT transaction_id, sum(n) AS legs, string_agg(unbalanced, ', ') AS unbalanced
                       FROM (SELECT h.transaction_id, w.currency,
                                    count(*) FILTER (WHERE w.system_purpose IS DISTINCT FROM 'fees') AS n,
                                    CASE WHEN sum(h.amount) <> 0 THEN w.currency || ' ' || sum(h.amount) END
                                        AS unbalanced
                             FROM wallet_history h JOIN wallets w ON w.id = h.wallet_id
                             GROUP BY h.transaction_id, w.currency) per_currency
                       GROUP BY transaction_id) l ON l.transaction_id = t.id
            WHERE l.unbalanced IS NOT NULL OR (t.status <> 'posted' AND l.legs IS NOT NULL)
               OR (t.status = 'posted' AND coalesce(l.legs, 0) <> coalesce(
                   (SELECT n FROM unnest(CAST(:kinds AS text[]), CAST(:counts AS int[])) k(kind, n)
                    WHERE k.kind = coalesce(o.kind, t.kind)), coalesce(l.legs, 0)))
            ORDER BY t.id""",
        kinds=list(expected),
        counts=list(expected.values()),
    ):
        problem = (
            f"legs sum to {r.unbalanced}"
            if r.unbalanced
            else f"{r.legs} legs while {r.status}"
            if r.status != "posted"
            else f"{r.legs} legs, a {r.kind} has {expected[r.kind]}"
            if r.shape == r.kind
            else f"{r.legs} legs, a reversal of a {r.shape} has {expected[r.shape]}"
        )
        check.add(f"transaction {r.id} ({r.kind}): {problem}")
    return check


def reversals(s: Session) -> Check:
    check = Check("reversals", "per transaction: its reversals add up to its reversed_amount, never above its amount")
    for r in _rows(
        s,
        """
            SELECT t.id, t.currency, t.amount, t.reversed_amount, coalesce(sum(r.amount), 0) AS reversed
            FROM transactions t LEFT JOIN transactions r ON r.reverses_transaction_id = t.id AND r.status = 'posted'
            GROUP BY t.id HAVING coalesce(sum(r.amount), 0) <> t.reversed_amount OR t.reversed_amount > t.amount
            ORDER BY t.id""",
    ):
        check.add(
            f"transaction {r.id} of {format_amount(r.amount, r.currency)}: reversals add up to "
            f"{format_amount(r.reversed, r.currency)}, reversed_amount says "
            f"{format_amount(r.reversed_amount, r.currency)}"
        )
    return check


def fees_collected(s: Session) -> Check:
    check = Check("fees_collected", "per currency: the fees wallet holds the fees charged minus the fees returned")
    for r in _rows(
        s,
        """
            SELECT w.currency, sum(w.balance) AS balance,  -- every shard of the currency's fees wallet
                   coalesce((SELECT coalesce(sum(fee), 0) - coalesce(sum(fee) FILTER (WHERE fee_refunded), 0)
                             FROM transactions t WHERE t.currency = w.currency AND t.status = 'posted'), 0) AS expected
            FROM wallets w WHERE w.system_purpose = 'fees' GROUP BY w.currency""",
    ):
        expected = r.expected or 0
        if r.balance != expected:
            check.add(
                f"{r.currency}: fees wallet holds {format_amount(r.balance, r.currency)}, fees charged less "
                f"returned {format_amount(expected, r.currency)}"
            )
    return check


def currency_totals(s: Session) -> Check:
    check = Check("currency_totals", "per currency: all balances, system wallets included, sum to zero")
    for r in _rows(
        s,
        "SELECT currency, sum(balance) AS total FROM wallets GROUP BY currency "
        "HAVING sum(balance) <> 0 ORDER BY currency",
    ):
        check.add(f"{r.currency}: balances sum to {format_amount(r.total, r.currency)}")
    return check


def floors(s: Session) -> Check:
    check = Check("limits", "no wallet below its floor (unbounded system wallets aside) or above its maximum")
    for r in _rows(
        s,
        """SELECT id, currency, balance, overdraft_limit, max_balance FROM wallets
                         WHERE (balance < -overdraft_limit AND NOT unbounded)
                            OR balance > max_balance ORDER BY id""",
    ):
        check.add(
            f"wallet {r.id}: {format_amount(r.balance, r.currency)} with overdraft limit "
            f"{format_amount(r.overdraft_limit, r.currency)}, maximum "
            f"{'none' if r.max_balance is None else format_amount(r.max_balance, r.currency)}"
        )
    return check


def idempotency(s: Session) -> Check:
    check = Check(
        "idempotency_keys",
        "no transaction claimed by two idempotency keys for its posting, nor decided "
        "(approve, reject) or ended (capture, void, expire) by two",
    )
    for r in _rows(
        s,
        """
            SELECT transaction_id, count(*) FILTER (WHERE operation = 'post') AS n,
                   count(*) FILTER (WHERE operation IN ('approve', 'reject')) AS decisions,
                   count(*) FILTER (WHERE operation IN ('capture', 'void', 'expire')) AS endings
            FROM idempotency_keys WHERE transaction_id IS NOT NULL GROUP BY transaction_id
            HAVING count(*) FILTER (WHERE operation = 'post') > 1
                OR count(*) FILTER (WHERE operation IN ('approve', 'reject')) > 1
                OR count(*) FILTER (WHERE operation IN ('capture', 'void', 'expire')) > 1""",
    ):
        check.add(
            f"transaction {r.transaction_id}: claimed by {r.n} keys, decided by {r.decisions}, ended by {r.endings}"
        )
    return check


def holds(s: Session) -> Check:
    check = Check(
        "holds",
        "per wallet: held = what its open holds reserve, and balance less its unexpired holds "
        "stays above its floor; no hold captured, approved or expired on the wrong side of "
        "its expiry",
    )
    for r in _rows(
        s,
        """
            SELECT w.id, w.currency, w.held, w.balance, w.overdraft_limit,
                   coalesce(sum(t.held_amount), 0) AS open_,
                   coalesce(sum(t.held_amount) FILTER (WHERE t.expires_at > now()), 0) AS live
            FROM wallets w LEFT JOIN transactions t
              ON t.source_wallet_id = w.id AND t.status IN ('pending', 'awaiting_approval')
            WHERE w.system_purpose IS NULL
            GROUP BY w.id
            HAVING w.held <> coalesce(sum(t.held_amount), 0)
                OR w.balance - coalesce(sum(t.held_amount) FILTER (WHERE t.expires_at > now()), 0)
                   < -w.overdraft_limit
            ORDER BY w.id""",
    ):
        money = lambda v: format_amount(v, r.currency)  # noqa: E731
        check.add(
            f"wallet {r.id}: held {money(r.held)}, open holds {money(r.open_)}; balance {money(r.balance)} "
            f"less unexpired holds {money(r.live)} against an overdraft limit of {money(r.overdraft_limit)}"
        )
    for r in _rows(
        s,
        """
            SELECT id, status, expires_at, resolved_at FROM transactions
            WHERE held_amount IS NOT NULL AND resolved_at IS NOT NULL
              AND ((status = 'expired' AND resolved_at < expires_at)
                OR (status = 'posted' AND resolved_at >= expires_at))
            ORDER BY id""",
    ):
        check.add(
            f"transaction {r.id}: {r.status} at {r.resolved_at.isoformat()}, its hold expiring "
            f"{r.expires_at.isoformat()}"
        )
    return check


def known_kinds(s: Session) -> Check:
    check = Check("known_kinds", "every transaction is of a kind the catalogue knows")
    for r in _rows(
        s,
        "SELECT id, kind FROM transactions WHERE NOT (kind = ANY (CAST(:kinds AS text[]))) ORDER BY id",
        kinds=list(KINDS),
    ):
        check.add(f"transaction {r.id}: unknown kind {r.kind!r}")
    return check


def fx_positions(s: Session) -> Check:
    """Money cannot be minted through the exchange desk: every exchange is priced at a rate
    the house set (its fx_rate_history version) and converts exactly at it; its reversals go
    back at that same rate, through the fx wallets, and add up to its converted amount pro
    rata; each pair's position (reversals netted), valued at today's rate, loses no more than
    the spreads it kept plus the tolerance finance set (ledger_settings)."""
    check = Check(
        "fx_positions",
        "every exchange at the house's rate of its time, converted exactly, its reversals back at that rate; "
        "per pair, "
        "the fx desk's position at today's rate within what its spreads earned",
    )
    for r in _rows(
        s,
        """
            SELECT * FROM (
                SELECT t.id, t.currency, t.dest_currency, t.rate, t.amount, t.dest_amount, h.rate AS house,
                       trunc(t.amount * t.rate, c.minor_units) AS converted,
                       sum(l.amount) FILTER (WHERE w.currency = t.currency) AS fx_in,
                       sum(l.amount) FILTER (WHERE w.currency = t.dest_currency) AS fx_out
                FROM transactions t JOIN currencies c ON c.code = t.dest_currency
                LEFT JOIN fx_rate_history h
                  ON h.id = t.rate_version AND h.base = t.currency AND h.quote = t.dest_currency
                LEFT JOIN wallet_history l ON l.transaction_id = t.id
                LEFT JOIN wallets w ON w.id = l.wallet_id AND w.system_purpose = 'fx'
                WHERE t.kind = 'exchange' AND t.status = 'posted'
                GROUP BY t.id, h.rate, c.minor_units) x
            WHERE house IS DISTINCT FROM rate OR dest_amount <> converted
               OR fx_in IS DISTINCT FROM amount OR fx_out IS DISTINCT FROM -dest_amount
            ORDER BY id""",
    ):
        if r.house is None:
            problem = f"rate {r.rate.normalize():f} is not a rate the house set for {r.currency}->{r.dest_currency}"
        elif r.house != r.rate:
            problem = f"rate {r.rate.normalize():f}, the house's was {r.house.normalize():f}"
        elif r.dest_amount != r.converted:
            problem = (
                f"{format_amount(r.amount, r.currency)} {r.currency} converts to "
                f"{format_amount(r.converted, r.dest_currency)}, not {format_amount(r.dest_amount, r.dest_currency)}"
            )
        else:
            problem = (
                f"the fx desk took {r.fx_in} {r.currency} and paid {r.fx_out} {r.dest_currency} for "
                f"{format_amount(r.amount, r.currency)} -> {format_amount(r.dest_amount, r.dest_currency)}"
            )
        check.add(f"transaction {r.id} (exchange): {problem}")
    for r in _rows(  # its reversals: back at its own rate, through the fx wallets, adding up exactly
        s,
        """
            SELECT t.id, t.currency, t.dest_currency, t.reversed_amount, t.amount, t.dest_amount,
                   ledger_round_up(t.reversed_amount * t.dest_amount / t.amount, c.minor_units) AS owed,
                   sum(r.dest_amount) AS back, bool_and(r.rate IS NOT DISTINCT FROM t.rate) AS at_rate,
                   sum(r.fx_in) AS fx_in, sum(r.fx_out) AS fx_out
            FROM transactions t JOIN currencies c ON c.code = t.dest_currency
            JOIN (SELECT r.id, r.reverses_transaction_id AS original, r.amount, r.dest_amount, r.rate,
                         coalesce(sum(l.amount) FILTER (WHERE w.currency = r.currency), 0) AS fx_in,
                         coalesce(sum(l.amount) FILTER (WHERE w.currency = r.dest_currency), 0) AS fx_out
                  FROM transactions r
                  LEFT JOIN wallet_history l ON l.transaction_id = r.id
                  LEFT JOIN wallets w ON w.id = l.wallet_id AND w.system_purpose = 'fx'
                  WHERE r.kind = 'reversal' AND r.status = 'posted'
                  GROUP BY r.id) r ON r.original = t.id
            WHERE t.kind = 'exchange'
            GROUP BY t.id, c.minor_units
            HAVING NOT bool_and(r.rate IS NOT DISTINCT FROM t.rate)
                OR sum(r.dest_amount) IS DISTINCT FROM
                   ledger_round_up(t.reversed_amount * t.dest_amount / t.amount, c.minor_units)
                OR sum(r.fx_in) <> -sum(r.amount) OR sum(r.fx_out) IS DISTINCT FROM sum(r.dest_amount)
            ORDER BY t.id""",
    ):
        if not r.at_rate:
            problem = "a reversal of it is not at its rate"
        elif r.back != r.owed:
            problem = (
                f"its reversals of {format_amount(r.reversed_amount, r.currency)} {r.currency} returned "
                f"{format_amount(r.back, r.dest_currency)} {r.dest_currency}, its rate gives "
                f"{format_amount(r.owed, r.dest_currency)}"
            )
        else:
            problem = (
                f"its reversals took {format_amount(-r.fx_in, r.currency)} {r.currency} out of the fx desk and put "
                f"back {format_amount(r.fx_out, r.dest_currency)} {r.dest_currency}"
            )
        check.add(f"transaction {r.id} (exchange): {problem}")
    for r in _rows(
        s,
        """
            SELECT p.*, x.rate AS today,
                   p.paid - p.taken * x.rate AS loss,
                   p.spreads * x.rate + p.paid * st.fx_position_tolerance_bps / 10000 AS allowed,
                   (SELECT string_agg(t.id::text, ', ' ORDER BY t.rate DESC, t.id) FROM (
                       SELECT t.id, t.rate FROM transactions t
                       WHERE t.kind = 'exchange' AND t.status = 'posted' AND t.currency = p.base
                         AND t.dest_currency = p.quote AND t.rate > x.rate
                       ORDER BY t.rate DESC, t.id LIMIT 5) t) AS worst
            FROM (SELECT t.currency AS base, t.dest_currency AS quote, sum(t.amount - t.reversed_amount) AS taken,
                         sum(t.dest_amount - coalesce(b.back, 0)) AS paid,
                         coalesce(sum(t.fee) FILTER (WHERE NOT t.fee_refunded), 0) AS spreads, count(*) AS n
                  FROM transactions t
                  LEFT JOIN (SELECT reverses_transaction_id AS id, sum(dest_amount) AS back FROM transactions
                             WHERE kind = 'reversal' AND status = 'posted' AND dest_amount IS NOT NULL
                             GROUP BY reverses_transaction_id) b ON b.id = t.id
                  WHERE t.kind = 'exchange' AND t.status = 'posted'
                  GROUP BY t.currency, t.dest_currency) p
            JOIN fx_rates x ON x.base = p.base AND x.quote = p.quote
            CROSS JOIN ledger_settings st
            WHERE p.paid - p.taken * x.rate > p.spreads * x.rate + p.paid * st.fx_position_tolerance_bps / 10000
            ORDER BY p.base, p.quote""",
    ):
        check.add(
            f"{r.base}->{r.quote}: the fx desk paid {format_amount(r.paid, r.quote)} {r.quote} for "
            f"{format_amount(r.taken, r.base)} {r.base}, worth {format_amount(r.taken * r.today, r.quote)} at "
            f"today's {r.today.normalize():f}: a loss of {format_amount(r.loss, r.quote)}, above the "
            f"{format_amount(r.allowed, r.quote)} its spreads and the tolerance allow (furthest above today's "
            f"rate: transactions {r.worst})"
        )
    return check


def seal_chain(s: Session) -> Check:
    check = Check(
        "seal_chain",
        "the seal chain: every link's hash recomputes from its transaction and legs, each link follows the one "
        "before, every sealed leg is in a link",
    )
    for b in seals.breaks(s, limit=None):
        check.add(seals.describe(b))
    return check


CHECKS = (
    seal_chain,
    wallet_balances,
    balance_chain,
    transaction_legs,
    currency_totals,
    floors,
    idempotency,
    known_kinds,
    reversals,
    fees_collected,
    holds,
    fx_positions,
)


# -- kept runs -------------------------------------------------------------------------------
def run_and_keep(actor, report: Report | None = None) -> dict:
    """Run every check (or take `report`, just run) and keep the run: who, when, how long,
    each check's figures."""
    from ..extensions import db
    from ..models import ReconcileRun
    from ..services import audit
    from ..services.atomic import atomic

    report = report or reconcile(db.session)

    def op(s: Session) -> dict:
        run = ReconcileRun(duration_ms=round(report.ms), ok=report.ok, run_by=actor.name, figures=report.figures())
        s.add(run)
        s.flush()
        audit.record(s, actor, "reconcile", "reconcile_run", run.id, ok=report.ok)
        return _run_dict(run)

    return atomic(db.session, op)


def runs(*, cursor=None, limit: int = 20) -> tuple[list[dict], str | None]:
    """Past runs, newest first, keyset-paginated on id."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import ReconcileRun
    from ..services import validate

    stmt = select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(limit + 1)
    if (before := validate.cursor(cursor)) is not None:
        stmt = stmt.where(ReconcileRun.id < before)
    rows = db.session.scalars(stmt).all()
    items = [_run_dict(r) for r in rows[:limit]]
    return items, (str(items[-1]["id"]) if len(rows) > limit else None)


def _run_dict(r) -> dict:
    from ..services.serialize import iso

    return {
        "id": r.id,
        "started_at": iso(r.started_at),
        "duration_ms": r.duration_ms,
        "ok": r.ok,
        "run_by": r.run_by,
        "figures": r.figures,
    }
