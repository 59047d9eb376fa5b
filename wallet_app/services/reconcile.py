"""Reconciliation: check the ledger invariants of DESIGN.md section 2 against the database."""
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import IdempotencyKey, Transaction, Wallet, WalletHistory
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
    return Report([_balances(s), _transactions(s), _currency_totals(s), _keys_and_signs(s)])


def _balances(s: Session) -> Check:
    check = Check("wallet_balances", "balance = sum of history = balance_after of the newest entry")
    h = WalletHistory
    sums = select(h.wallet_id, func.sum(h.amount).label("total"), func.max(h.id).label("last_id")) \
        .group_by(h.wallet_id).subquery()
    newest = select(h.balance_after).where(h.id == sums.c.last_id).scalar_subquery()
    rows = s.execute(
        select(Wallet.id, Wallet.currency, Wallet.balance, sums.c.total, newest.label("newest"))
        .outerjoin(sums, sums.c.wallet_id == Wallet.id)
        .where((Wallet.balance != func.coalesce(sums.c.total, 0))
               | (Wallet.balance != func.coalesce(newest, 0)))
        .order_by(Wallet.id)
    ).all()
    for r in rows:
        check.add(f"wallet {r.id}: balance {format_amount(r.balance, r.currency)}, history sums to "
                  f"{format_amount(r.total or 0, r.currency)}, newest balance_after "
                  f"{format_amount(r.newest or 0, r.currency)}")
    return check


def _transactions(s: Session) -> Check:
    check = Check("transaction_entries", "a transfer's entries sum to 0 (two rows), a fund's to +amount (one row)")
    t, h = Transaction, WalletHistory
    sums = select(h.transaction_id, func.sum(h.amount).label("total"), func.count().label("n")) \
        .group_by(h.transaction_id).subquery()
    total, n = func.coalesce(sums.c.total, 0), func.coalesce(sums.c.n, 0)
    rows = s.execute(
        select(t.id, t.kind, t.amount, t.currency, total.label("total"), n.label("n"))
        .outerjoin(sums, sums.c.transaction_id == t.id)
        .where(((t.kind == "transfer") & ((total != 0) | (n != 2)))
               | ((t.kind == "fund") & ((total != t.amount) | (n != 1))))
        .order_by(t.id)
    ).all()
    for r in rows:
        check.add(f"transaction {r.id} ({r.kind} of {format_amount(r.amount, r.currency)}): "
                  f"{r.n} entries summing to {format_amount(r.total, r.currency)}")
    return check


def _currency_totals(s: Session) -> Check:
    check = Check("currency_totals", "per currency, wallet balances add up to funds minus withdrawals")
    balances = dict(s.execute(select(Wallet.currency, func.sum(Wallet.balance)).group_by(Wallet.currency)).all())
    moved = {(cur, kind): total for cur, kind, total in s.execute(
        select(Transaction.currency, Transaction.kind, func.sum(Transaction.amount))
        .where(Transaction.kind.in_(("fund", "withdrawal")))
        .group_by(Transaction.currency, Transaction.kind))}
    currencies = set(balances) | {cur for cur, _ in moved}
    for cur in sorted(currencies):
        held = balances.get(cur) or 0
        expected = moved.get((cur, "fund"), 0) - moved.get((cur, "withdrawal"), 0)
        if held != expected:
            check.add(f"{cur}: wallets hold {format_amount(held, cur)}, funds minus withdrawals "
                      f"{format_amount(expected, cur)}")
    return check


def _keys_and_signs(s: Session) -> Check:
    check = Check("no_negatives_no_double_keys", "no negative balance; no idempotency key applied twice")
    for r in s.execute(select(Wallet.id, Wallet.currency, Wallet.balance).where(Wallet.balance < 0)):
        check.add(f"wallet {r.id}: negative balance {format_amount(r.balance, r.currency)}")
    for r in s.execute(select(WalletHistory.id).where(WalletHistory.balance_after < 0).limit(MAX_LISTED)):
        check.add(f"history entry {r.id}: negative balance_after")
    dupes = s.execute(
        select(IdempotencyKey.transaction_id, func.count()).where(IdempotencyKey.transaction_id.is_not(None))
        .group_by(IdempotencyKey.transaction_id).having(func.count() > 1)
    ).all()
    for tx_id, n in dupes:
        check.add(f"transaction {tx_id}: claimed by {n} idempotency keys")
    return check
