"""Read-only figures for the console: dashboard totals, daily volume, a wallet's balance series."""
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Transaction, Wallet, WalletHistory
from ..money import format_amount
from .serialize import iso


def dashboard(session: Session | None = None, days: int = 30) -> dict:
    s = session or db.session
    today = datetime.combine(datetime.now(timezone.utc).date(), time(), timezone.utc)
    start = today - timedelta(days=days - 1)
    totals = s.execute(select(Wallet.currency, func.count(), func.sum(Wallet.balance))
                       .where(Wallet.system_purpose.is_(None))
                       .group_by(Wallet.currency).order_by(Wallet.currency)).all()
    day = func.date(Transaction.created_at)
    daily = s.execute(select(Transaction.currency, day, func.sum(Transaction.amount), func.count())
                      .where(Transaction.created_at >= start)
                      .group_by(Transaction.currency, day)).all()
    latest = s.scalars(select(Transaction).order_by(Transaction.id.desc()).limit(10)).all()
    series = {}
    for currency, d, amount, n in daily:
        series.setdefault(currency, {})[str(d)] = (Decimal(amount), n)
    days_list = [(start + timedelta(days=i)).date().isoformat() for i in range(days)]
    return {
        "wallets": sum(n for _, n, _ in totals),
        "totals": [{"currency": c, "wallets": n, "balance": format_amount(b or 0, c)} for c, n, b in totals],
        "today": [{"currency": c, "volume": format_amount(v[days_list[-1]][0], c), "count": v[days_list[-1]][1]}
                  for c, v in sorted(series.items()) if days_list[-1] in v],
        "daily": {c: [(d, v.get(d, (Decimal(0), 0))[0]) for d in days_list] for c, v in sorted(series.items())},
        "latest": [{"id": t.id, "kind": t.kind, "amount": format_amount(t.amount, t.currency),
                    "currency": t.currency, "source_wallet_id": t.source_wallet_id,
                    "dest_wallet_id": t.dest_wallet_id, "created_at": iso(t.created_at)} for t in latest],
    }


def balance_series(wallet_id: int, points: int = 60, session: Session | None = None) -> list[Decimal]:
    """The wallet's balance after each of its last `points` entries, oldest first."""
    s = session or db.session
    where, order = WalletHistory.newest_first(wallet_id)
    rows = s.scalars(select(WalletHistory.balance_after).where(*where).order_by(*order).limit(points)).all()
    return list(reversed(rows))


def bars(values: list[Decimal], width: int = 600, height: int = 120) -> list[dict]:
    """Bar geometry for a server-rendered SVG chart (no JavaScript, no inline styles)."""
    top = max(values, default=0) or 1
    step = width / max(len(values), 1)
    return [{"x": round(i * step, 1), "w": round(max(step - 2, 1), 1),
             "h": round(float(v / top) * height, 1), "y": round(height - float(v / top) * height, 1)}
            for i, v in enumerate(values)]
