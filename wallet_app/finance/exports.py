"""Streaming CSV exports for finance: history (any size) and balances at the end of a day.

History streams with COPY ... TO STDOUT (rows never sit in Python memory, and the rate is
the database's own). Both cover customer wallets only: system wallets are the ledger's own.
Text a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is prefixed with a
quote, in SQL or in Python.
Numbers are ours and stay numbers: a debit such as -12.50 is not neutralised.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from psycopg import sql
from sqlalchemy import func, select

from .. import reads
from ..errors import InvalidInput
from ..extensions import db
from ..ledger import statements
from ..ledger.catalogue import KINDS
from ..models import Wallet, WalletHistory
from ..money import MINOR_UNITS, check_currency, format_amount
from ..services import audit, validate
from ..services.atomic import atomic
from ..services.audit import Actor
from ..services.serialize import iso
from ..services.validate import wallet_id as check_id

HISTORY_COLUMNS = [
    "entry_id",
    "created_at",
    "wallet_id",
    "owner",
    "currency",
    "kind",
    "amount",
    "fee",
    "balance_after",
    "transaction_id",
    "counterparty_wallet_id",
    "reverses_transaction_id",
    "reference",
    "operator",
    "rate",
    "captured_hold",
    "reason",  # a reversal's or an adjustment's
    "approved_by",  # the second person, for a movement that waited for one
    "batch_id",  # the batch that posted it (POST /api/v1/batches)
]
BALANCE_COLUMNS = ["wallet_id", "owner", "currency", "status", "balance", "as_of"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class HistoryFilter:
    wallet_id: int | None = None
    since: date | None = None  # first day included (UTC)
    until: date | None = None  # last day included (UTC)
    currency: str | None = None
    kind: str | None = None

    @classmethod
    def parse(cls, args) -> "HistoryFilter":
        """From query-string values; each error names its field."""
        kind = args.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise InvalidInput("Unknown kind.", field="kind")
        since, until = parse_day(args.get("since"), "since"), parse_day(args.get("until"), "until")
        if since and until and since > until:
            raise InvalidInput("The range ends before it starts.", field="until")
        return cls(
            wallet_id=check_id(args["wallet_id"], "wallet_id") if args.get("wallet_id") else None,
            since=since,
            until=until,
            currency=check_currency(args["currency"]) if args.get("currency") else None,
            kind=kind,
        )

    def filename(self, what: str = "history") -> str:
        scope = f"wallet-{self.wallet_id}" if self.wallet_id else "all-wallets"
        span = f"{self.since or 'start'}_to_{self.until or date.today()}"
        return f"{what}-{scope}-{span}.csv"


parse_day = validate.day  # the console's history filter reads dates the same way


def _start(d: date) -> datetime:
    return datetime.combine(d, time(), timezone.utc)


def record_export(actor: Actor, what: str, filters: dict) -> None:
    """Audit first, in its own short transaction, then stream. Where the export reads is chosen
    before: the audit row is not part of it, so it need not wait for a replica to replay it."""
    reads.session()
    atomic(
        db.session,
        lambda s: audit.record(
            s, actor, "export", "export", what, **{k: str(v) for k, v in filters.items() if v is not None}
        ),
    )


def neutralise(text: str | None) -> str:
    if text and text.startswith(DANGEROUS):
        return "'" + text
    return text or ""


# -- history -------------------------------------------------------------------------------
def stream_history(f: HistoryFilter) -> Iterator[bytes]:
    return _copy(_history_copy_sql(f))


def _places(col: str) -> sql.Composable:
    whens = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(c), sql.Literal(p)) for c, p in MINOR_UNITS.items()
    )
    return sql.SQL("CASE {} {} END").format(sql.SQL(col), whens)


def _safe(col: str) -> sql.Composable:
    return sql.SQL(
        "CASE WHEN left({c}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || {c} ELSE {c} END"
    ).format(c=sql.SQL(col))


def _history_copy_sql(f: HistoryFilter) -> sql.Composable:
    where = [sql.SQL("w.system_purpose IS NULL")]
    if f.wallet_id:
        where.append(sql.SQL("h.wallet_id = {}").format(sql.Literal(f.wallet_id)))
    if f.since:
        where.append(sql.SQL("h.created_at >= {}").format(sql.Literal(_start(f.since))))
    if f.until:
        where.append(sql.SQL("h.created_at < {}").format(sql.Literal(_start(f.until + timedelta(days=1)))))
    if f.currency:
        where.append(sql.SQL("w.currency = {}").format(sql.Literal(f.currency)))
    if f.kind:
        where.append(sql.SQL("t.kind = {}").format(sql.Literal(f.kind)))
    query = sql.SQL("""
        SELECT h.id, to_char(h.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), h.wallet_id,
               {owner}, w.currency, t.kind, round(h.amount, {places})::text,
               CASE WHEN h.amount < 0 AND t.fee > 0 THEN round(t.fee, {fee_places})::text END,
               round(h.balance_after, {places})::text,
               h.transaction_id, CASE WHEN h.amount < 0 THEN t.dest_wallet_id ELSE t.source_wallet_id END,
               t.reverses_transaction_id, {reference}, {operator}, rtrim(rtrim(t.rate::text, '0'), '.'),
               t.held_amount IS NOT NULL, {reason}, {approver}, t.batch_id
        FROM wallet_history h JOIN transactions t ON t.id = h.transaction_id JOIN wallets w ON w.id = h.wallet_id
        WHERE {where} ORDER BY h.id""").format(
        owner=_safe("w.owner_name"),
        places=_places("w.currency"),
        fee_places=_places("t.currency"),
        reference=_safe("t.reference"),
        operator=_safe("t.created_by"),
        reason=_safe("t.reason"),
        approver=_safe("t.approved_by"),
        where=sql.SQL(" AND ").join(where),
    )
    return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER false)").format(query)


def _copy(statement: sql.Composable, header: list[str] = HISTORY_COLUMNS) -> Iterator[bytes]:
    """Yield COPY's CSV blocks as the database sends them, on the read session's connection
    (held until the stream ends; the request teardown releases it)."""
    yield (",".join(header) + "\r\n").encode()
    cursor = reads.session().connection().connection.driver_connection.cursor()
    with cursor.copy(statement) as copy:
        for block in copy:
            yield bytes(block)


def _rows_as_csv(header: list[str], rows) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


# -- balances as of a day ------------------------------------------------------------------
def stream_balances(day: date) -> Iterator[bytes]:
    """Every wallet's balance at the end of `day` (UTC), from its history: the balance_after
    of its last entry before the next midnight, or zero; streamed like the history."""
    end = _start(day + timedelta(days=1))
    last = statements.last_balance(Wallet.id, WalletHistory.created_at < end).scalar_subquery()
    rows = reads.session().execute(
        select(Wallet.id, Wallet.owner_name, Wallet.currency, Wallet.status, func.coalesce(last, 0))
        .where(Wallet.created_at < end, Wallet.system_purpose.is_(None))
        .order_by(Wallet.id)
    )
    return _rows_as_csv(
        BALANCE_COLUMNS,
        ([r[0], neutralise(r[1]), r[2], r[3], format_amount(r[4], r[2]), day.isoformat()] for r in rows),
    )


# -- statements and the trial balance --------------------------------------------------------
STATEMENT_COLUMNS = [
    "entry_id",
    "created_at",
    "kind",
    "description",
    "reference",
    "counterparty_wallet_id",
    "transaction_id",
    "amount",
    "balance_after",
]
TRIAL_BALANCE_COLUMNS = ["wallet_id", "owner", "currency", "system_purpose", "shard", "balance", "as_of"]


def stream_statement(wallet: dict, period: statements.Period) -> Iterator[bytes]:
    """A statement as CSV: an opening balance row, each movement oldest first with its balance
    after, a closing balance row (the totals are the page's and the PDF's)."""
    currency = wallet["currency"]
    money = lambda v: format_amount(v, currency)  # noqa: E731
    totals = statements.summary(wallet["id"], period)

    def rows():
        yield [
            "",
            iso(period.start),
            "opening_balance",
            "Opening balance",
            "",
            "",
            "",
            "",
            money(totals["opening_balance"]),
        ]
        for r in statements.all_movements(wallet["id"], period):
            yield [
                r.id,
                iso(r.created_at),
                r.kind,
                neutralise(statements.describe(r)),
                neutralise(r.reference),
                r.counterparty_wallet_id or "",
                r.transaction_id,
                money(r.amount),
                money(r.balance_after),
            ]
        yield [
            "",
            iso(period.end),
            "closing_balance",
            "Closing balance",
            "",
            "",
            "",
            "",
            money(totals["closing_balance"]),
        ]

    return _rows_as_csv(STATEMENT_COLUMNS, rows())


def stream_trial_balance(at: datetime) -> Iterator[bytes]:
    """Every wallet's balance as of `at`, system wallets included (their rows sum to zero per
    currency). The query starts when the client starts reading: after the request's own
    commits, which would close its server-side cursor."""

    def rows():
        _, result = statements.trial_balance_rows(at)
        for r in result:
            money = format_amount(r.balance, r.currency)
            yield [r.id, neutralise(r.owner_name), r.currency, r.system_purpose or "", r.shard, money, iso(at)]

    return _rows_as_csv(TRIAL_BALANCE_COLUMNS, rows())
