"""Reconciliation: each ledger invariant of docs/DESIGN.md ("Invariants") as a named check."""
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..ledger.catalogue import KINDS
from ..money import format_amount

MAX_LISTED = 50  # mismatches listed per check; the count is always exact


@dataclass
class Check:
    name: str
    description: str
    mismatches: list[str] = field(default_factory=list)
    count: int = 0

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

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)


def reconcile(s: Session) -> Report:
    """Run every check; each lists its mismatches. Read-only."""
    return Report([check(s) for check in CHECKS])


def _rows(s: Session, sql: str, **params):
    return s.execute(text(sql), params).all()


def wallet_balances(s: Session) -> Check:
    check = Check("wallet_balances", "per wallet: balance = sum of its legs = balance_after of its newest leg")
    for r in _rows(s, """
            SELECT w.id, w.currency, w.balance, coalesce(l.total, 0) AS total, coalesce(n.balance_after, 0) AS newest
            FROM wallets w
            LEFT JOIN (SELECT wallet_id, sum(amount) AS total, max(id) AS last_id
                       FROM wallet_history GROUP BY wallet_id) l ON l.wallet_id = w.id
            LEFT JOIN wallet_history n ON n.id = l.last_id
            WHERE w.balance <> coalesce(l.total, 0) OR w.balance <> coalesce(n.balance_after, 0)
            ORDER BY w.id"""):
        check.add(f"wallet {r.id}: balance {format_amount(r.balance, r.currency)}, legs sum to "
                  f"{format_amount(r.total, r.currency)}, newest balance_after {format_amount(r.newest, r.currency)}")
    return check


def balance_chain(s: Session) -> Check:
    check = Check("balance_after_chain", "every leg's balance_after = the previous leg's + its amount")
    for r in _rows(s, """
            SELECT h.id, h.wallet_id, w.currency, h.amount, h.balance_after, h.previous
            FROM (SELECT id, wallet_id, amount, balance_after,
                         coalesce(lag(balance_after) OVER (PARTITION BY wallet_id ORDER BY id), 0) AS previous
                  FROM wallet_history) h JOIN wallets w ON w.id = h.wallet_id
            WHERE h.balance_after <> h.previous + h.amount ORDER BY h.id"""):
        check.add(f"leg {r.id} of wallet {r.wallet_id}: {format_amount(r.previous, r.currency)} + "
                  f"{format_amount(r.amount, r.currency)} is not {format_amount(r.balance_after, r.currency)}")
    return check


def transaction_legs(s: Session) -> Check:
    check = Check("transaction_legs", "per transaction: legs sum to zero per currency, as many as its kind has "
                                      "(its fee leg aside); none while it is not posted")
    expected = {name: kind.leg_count for name, kind in KINDS.items()}
    for r in _rows(s, """
            SELECT t.id, t.kind, t.status, coalesce(l.legs, 0) AS legs, l.unbalanced
            FROM transactions t
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
                    WHERE k.kind = t.kind), coalesce(l.legs, 0)))
            ORDER BY t.id""", kinds=list(expected), counts=list(expected.values())):
        problem = (f"legs sum to {r.unbalanced}" if r.unbalanced else f"{r.legs} legs while {r.status}"
                   if r.status != "posted" else f"{r.legs} legs, a {r.kind} has {expected[r.kind]}")
        check.add(f"transaction {r.id} ({r.kind}): {problem}")
    return check


def reversals(s: Session) -> Check:
    check = Check("reversals", "per transaction: its reversals add up to its reversed_amount, never above its amount")
    for r in _rows(s, """
            SELECT t.id, t.currency, t.amount, t.reversed_amount, coalesce(sum(r.amount), 0) AS reversed
            FROM transactions t LEFT JOIN transactions r ON r.reverses_transaction_id = t.id
            GROUP BY t.id HAVING coalesce(sum(r.amount), 0) <> t.reversed_amount OR t.reversed_amount > t.amount
            ORDER BY t.id"""):
        check.add(f"transaction {r.id} of {format_amount(r.amount, r.currency)}: reversals add up to "
                  f"{format_amount(r.reversed, r.currency)}, reversed_amount says "
                  f"{format_amount(r.reversed_amount, r.currency)}")
    return check


def fees_collected(s: Session) -> Check:
    check = Check("fees_collected", "per currency: the fees wallet holds the fees charged minus the fees returned")
    for r in _rows(s, """
            SELECT w.currency, w.balance,
                   coalesce((SELECT coalesce(sum(fee), 0) - coalesce(sum(fee) FILTER (WHERE fee_refunded), 0) FROM transactions t
                             WHERE t.currency = w.currency AND t.status = 'posted'), 0) AS expected
            FROM wallets w WHERE w.system_purpose = 'fees'"""):
        expected = r.expected or 0
        if r.balance != expected:
            check.add(f"{r.currency}: fees wallet holds {format_amount(r.balance, r.currency)}, fees charged less "
                      f"returned {format_amount(expected, r.currency)}")
    return check


def currency_totals(s: Session) -> Check:
    check = Check("currency_totals", "per currency: all balances, system wallets included, sum to zero")
    for r in _rows(s, "SELECT currency, sum(balance) AS total FROM wallets GROUP BY currency "
                      "HAVING sum(balance) <> 0 ORDER BY currency"):
        check.add(f"{r.currency}: balances sum to {format_amount(r.total, r.currency)}")
    return check


def floors(s: Session) -> Check:
    check = Check("limits", "no wallet below its floor (world and fx aside) or above its maximum")
    for r in _rows(s, """SELECT id, currency, balance, overdraft_limit, max_balance FROM wallets
                         WHERE (balance < -overdraft_limit AND coalesce(system_purpose NOT IN ('world', 'fx'), true))
                            OR balance > max_balance ORDER BY id"""):
        check.add(f"wallet {r.id}: {format_amount(r.balance, r.currency)} with overdraft limit "
                  f"{format_amount(r.overdraft_limit, r.currency)}, maximum "
                  f"{'none' if r.max_balance is None else format_amount(r.max_balance, r.currency)}")
    return check


def idempotency(s: Session) -> Check:
    check = Check("idempotency_keys", "no transaction claimed by two idempotency keys for its posting, nor a hold "
                                      "by two for its resolution")
    for r in _rows(s, "SELECT transaction_id, count(*) FILTER (WHERE operation = 'post') AS n, "
                      "count(*) FILTER (WHERE operation <> 'post') AS resolutions FROM idempotency_keys "
                      "WHERE transaction_id IS NOT NULL GROUP BY transaction_id "
                      "HAVING count(*) FILTER (WHERE operation = 'post') > 1 "
                      "OR count(*) FILTER (WHERE operation <> 'post') > 1"):
        check.add(f"transaction {r.transaction_id}: claimed by {r.n} keys, resolved by {r.resolutions}")
    return check


def holds(s: Session) -> Check:
    check = Check("holds", "per wallet: held = what its open holds reserve, and balance less its unexpired holds "
                           "stays above its floor; no hold captured, approved or expired on the wrong side of "
                           "its expiry")
    for r in _rows(s, """
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
            ORDER BY w.id"""):
        money = lambda v: format_amount(v, r.currency)  # noqa: E731
        check.add(f"wallet {r.id}: held {money(r.held)}, open holds {money(r.open_)}; balance {money(r.balance)} "
                  f"less unexpired holds {money(r.live)} against an overdraft limit of {money(r.overdraft_limit)}")
    for r in _rows(s, """
            SELECT id, status, expires_at, resolved_at FROM transactions
            WHERE held_amount IS NOT NULL AND resolved_at IS NOT NULL
              AND ((status = 'expired' AND resolved_at < expires_at)
                OR (status = 'posted' AND resolved_at >= expires_at))
            ORDER BY id"""):
        check.add(f"transaction {r.id}: {r.status} at {r.resolved_at.isoformat()}, its hold expiring "
                  f"{r.expires_at.isoformat()}")
    return check


def known_kinds(s: Session) -> Check:
    check = Check("known_kinds", "every transaction is of a kind the catalogue knows")
    for r in _rows(s, "SELECT id, kind FROM transactions WHERE NOT (kind = ANY (CAST(:kinds AS text[]))) "
                      "ORDER BY id", kinds=list(KINDS)):
        check.add(f"transaction {r.id}: unknown kind {r.kind!r}")
    return check


CHECKS = (wallet_balances, balance_chain, transaction_legs, currency_totals, floors, idempotency, known_kinds,
          reversals, fees_collected, holds)
