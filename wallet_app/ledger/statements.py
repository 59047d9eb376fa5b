"""Month end reads (docs/DESIGN.md, "Balances as of a moment"): a wallet's balance at any moment,
its statement for a period, and the trial balance of every wallet. A balance as of a moment is
the `balance_after` of the wallet's last leg at or before it: one read of the index
`(wallet_id, created_at, id)`, never a sum over history (a wallet's legs are stamped under its
lock, so they grow in time as they grow in id). Reads run on the read session (reads.py)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import groupby

from sqlalchemy import func, select, tuple_

from .. import reads
from ..errors import InvalidInput
from ..models import Wallet, WalletHistory
from ..models.types import utcnow
from ..money import format_amount
from ..services import validate
from ..services.serialize import history_entry_dict, iso
from .catalogue import SYSTEM_WALLETS, label, outside_label
from .queries import entries, get_wallet

MOVEMENTS_PER_PAGE = 100


def moment(value, field: str) -> datetime:
    """A moment that has happened: a balance in the future is not known yet."""
    at = value if isinstance(value, datetime) else validate.moment(value, field, required=True)
    if at > utcnow():
        raise InvalidInput("That moment has not happened yet: a balance in the future is not known.", field=field)
    return at


def last_balance(wallet_id, upto):
    """The one rule: a wallet's balance when `upto` (a condition on its legs' `created_at`) holds
    is the `balance_after` of its last such leg, one read of the index `(wallet_id, created_at,
    id)`. A SELECT: `.scalar_subquery()` for a list of wallets (`wallet_id` a column)."""
    h = WalletHistory
    return (
        select(h.balance_after)
        .where(h.wallet_id == wallet_id, upto)
        .order_by(h.created_at.desc(), h.id.desc())
        .limit(1)
    )


def _balance(wallet_id: int, *, at: datetime | None = None, before: datetime | None = None) -> Decimal:
    """The wallet's balance after its last leg at or before `at` (or strictly before `before`);
    zero when it had none then."""
    h = WalletHistory
    found = reads.session().scalar(
        last_balance(wallet_id, h.created_at <= at if at is not None else h.created_at < before)
    )
    return Decimal(0) if found is None else found


def balance_at(wallet_id, at) -> dict:
    """A customer wallet's balance at `at` (ISO 8601): zero before its first leg (and before it
    existed); refused for a moment still to come."""
    wallet = get_wallet(wallet_id)
    at = moment(at, "at")
    balance = _balance(wallet["id"], at=at)
    return {
        "wallet_id": wallet["id"],
        "currency": wallet["currency"],
        "at": iso(at),
        "balance": format_amount(balance, wallet["currency"]),
    }


@dataclass(frozen=True)
class Period:
    """[start, end): `from` included, `to` excluded. `to` may be later than now (this month so
    far): the closing balance is then the balance now."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, start, end, fields: tuple[str, str] = ("from", "to")) -> "Period":
        start = moment(start, fields[0])
        end = end if isinstance(end, datetime) else validate.moment(end, fields[1], required=True)
        if end <= start:
            raise InvalidInput("The period ends before it starts: To must be after From.", field=fields[1])
        return cls(start, end)

    def label(self) -> str:
        """For a file name: the first and last days (a period ending at a midnight ends the day
        before)."""
        last = self.end - timedelta(microseconds=1)
        return f"{self.start:%Y-%m-%d}_to_{last:%Y-%m-%d}"


def wallet_period(wallet_id, start, end, fields: tuple[str, str] = ("from", "to")) -> tuple[dict, Period]:
    """The customer wallet and the period a statement is asked for, each checked (404, or 422
    naming `from` or `to`) before a download starts."""
    return get_wallet(wallet_id), Period.parse(start, end, fields)


def statement(wallet_id, start, end, *, cursor=None, limit=None, fields: tuple[str, str] = ("from", "to")) -> dict:
    """A wallet's statement for [start, end): opening and closing balances (as of each end),
    money in and out over the period (opening + in - out = closing), and its movements oldest
    first, a page at a time (`next_cursor`; the CSV and PDF have them all)."""
    wallet, period = wallet_period(wallet_id, start, end, fields)
    limit = validate.limit(limit, default=MOVEMENTS_PER_PAGE, maximum=1000)
    after = validate.cursor(cursor)
    currency = wallet["currency"]
    totals = summary(wallet["id"], period)
    h = WalletHistory
    stmt = (
        entries(with_names=True)
        .where(h.wallet_id == wallet["id"], h.created_at >= period.start, h.created_at < period.end)
        .order_by(h.created_at, h.id)
        .limit(limit + 1)
    )
    if after is not None:
        # keyset on (created_at, id): the page starts after the cursor's leg, read once
        seen = select(h.created_at).where(h.id == after, h.wallet_id == wallet["id"]).scalar_subquery()
        stmt = stmt.where(tuple_(h.created_at, h.id) > tuple_(seen, after))
    rows = reads.session().execute(stmt).all()
    movements = [_movement(r, currency) for r in rows[:limit]]
    return {
        "wallet_id": wallet["id"],
        "owner_name": wallet["owner_name"],
        "currency": currency,
        "from": iso(period.start),
        "to": iso(period.end),
        **{k: format_amount(v, currency) if isinstance(v, Decimal) else v for k, v in totals.items()},
        "movements": movements,
        "next_cursor": str(movements[-1]["id"]) if len(rows) > limit else None,
    }


def summary(wallet_id: int, period: Period) -> dict:
    """Opening and closing balances and the period's totals, as Decimals (the movement count
    too). Two index reads and one range of the wallet's legs."""
    h = WalletHistory
    row = (
        reads.session()
        .execute(
            select(
                func.coalesce(func.sum(h.amount).filter(h.amount > 0), 0),
                func.coalesce(-func.sum(h.amount).filter(h.amount < 0), 0),
                func.count(),
            ).where(h.wallet_id == wallet_id, h.created_at >= period.start, h.created_at < period.end)
        )
        .one()
    )
    return {
        "opening_balance": _balance(wallet_id, before=period.start),
        "closing_balance": _balance(wallet_id, before=period.end),
        "total_in": row[0],
        "total_out": row[1],
        "movement_count": row[2],
    }


def _movement(row, currency: str) -> dict:
    return history_entry_dict(row, currency) | {
        "counterparty_name": row.counterparty_name,
        "reason": row.reason,
        "description": describe(row),
    }


def describe(row) -> str:
    """A movement as a statement line reads: its kind and the other side ("Transfer to Ada
    Lovelace", "Reversal of #12", "Funding: deposit")."""
    what = label(row.kind)
    if row.reverses_transaction_id:
        what += f" of #{row.reverses_transaction_id}"
    if row.counterparty_wallet_id:
        other = row.counterparty_name or f"wallet {row.counterparty_wallet_id}"
        return f"{what} {'to' if row.amount < 0 else 'from'} {other}"
    return f"{what}: {outside_label(row.kind)}"


def all_movements(wallet_id: int, period: Period):
    """Every movement of the period, oldest first, as rows (for the CSV and the PDF), read in
    chunks as they are consumed."""
    h = WalletHistory
    stmt = (
        entries(with_names=True)
        .where(h.wallet_id == wallet_id, h.created_at >= period.start, h.created_at < period.end)
        .order_by(h.created_at, h.id)
        .execution_options(yield_per=1000)
    )
    return reads.session().execute(stmt)


# -- trial balance ---------------------------------------------------------------------------
def trial_balance_rows(at):
    """Every wallet that existed at `at`, system wallets included, with its balance then: the
    rows of the trial balance, by currency (streamed: one index read per wallet)."""
    at = moment(at, "at")
    w = Wallet
    balance = func.coalesce(last_balance(w.id, WalletHistory.created_at <= at).scalar_subquery(), 0)
    rows = select(w.id, w.owner_name, w.currency, w.system_purpose, w.shard, balance.label("balance"))
    rows = rows.where(w.created_at <= at).order_by(w.currency, w.system_purpose.asc().nulls_first(), w.id)
    return at, reads.session().execute(rows.execution_options(yield_per=2000))


def trial_balance(at) -> dict:
    """Per currency, as of `at`: customer wallets (count and total), each system purpose (its
    shards as one), and their sum, which double entry makes zero."""
    at, rows = trial_balance_rows(at)
    currencies = []
    for currency, group in groupby(rows, key=lambda r: r.currency):
        lines: dict[str | None, list] = {}
        for r in group:
            line = lines.setdefault(r.system_purpose, [0, Decimal(0)])
            line[0] += 1
            line[1] += r.balance
        total = sum(v[1] for v in lines.values())
        money = lambda v: format_amount(v, currency)  # noqa: E731
        customers = lines.pop(None, [0, Decimal(0)])
        currencies.append(
            {
                "currency": currency,
                "lines": [{"label": "Customer wallets", "wallets": customers[0], "balance": money(customers[1])}]
                + [
                    {
                        "label": SYSTEM_WALLETS[p].label if p in SYSTEM_WALLETS else p,
                        "wallets": n,
                        "balance": money(b),
                    }
                    for p, (n, b) in lines.items()
                ],
                "sum": money(total),
                "balanced": total == 0,
                "empty": not any(v[1] for v in lines.values()) and not customers[1],
            }
        )
    return {"at": iso(at), "currencies": currencies}
