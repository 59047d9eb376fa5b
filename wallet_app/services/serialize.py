"""Plain, JSON-ready shapes of ledger rows: amounts as currency-scaled strings, times ISO 8601."""

from ..money import format_amount


def iso(ts) -> str | None:
    return ts.isoformat().replace("+00:00", "Z") if ts is not None else None


def wallet_dict(w, held=None) -> dict:
    """A customer wallet, its limits, `held` (what its holds reserve) and `available`: what it
    can pay now (balance above its floor, -overdraft_limit, less what is held). `held`: the
    live sum when the caller has it, else the wallet's column (which counts an expired hold
    until `flask expire-holds` marks it)."""
    money = lambda v: None if v is None else format_amount(v, w.currency)  # noqa: E731
    held = w.held if held is None else held
    return {
        "id": w.id,
        "owner_name": w.owner_name,
        "owner_email": w.owner_email,
        "external_ref": w.external_ref,
        "currency": w.currency,
        "balance": money(w.balance),
        "held": money(held),
        "available": money(w.balance + w.overdraft_limit - held),
        "overdraft_limit": money(w.overdraft_limit),
        "max_balance": money(w.max_balance),
        "daily_outflow_limit": money(w.daily_outflow_limit),
        "alert_below": money(w.alert_below),
        "alert_above": money(w.alert_above),
        "status": w.status,
        "status_reason": w.status_reason,
        "status_changed_by": w.status_changed_by,
        "status_changed_at": iso(w.status_changed_at),
        "created_at": iso(w.created_at),
        "updated_at": iso(w.updated_at),
    }


def history_entry_dict(row, currency: str) -> dict:
    return {
        "id": row.id,
        "transaction_id": row.transaction_id,
        "kind": row.kind,
        "amount": format_amount(row.amount, currency),
        "balance_after": format_amount(row.balance_after, currency),
        "counterparty_wallet_id": row.counterparty_wallet_id,
        "reference": row.reference,
        # The payer's leg includes the fee; the transaction's fee says how much of it that is.
        "fee": format_amount(row.fee, currency) if row.fee and row.amount < 0 else None,
        "reverses_transaction_id": row.reverses_transaction_id,
        # Posted from a hold (captured, or approved by a second operator): what was held.
        "held_amount": None if row.held_amount is None else format_amount(row.held_amount, row.tx_currency),
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "batch_id": row.batch_id,
    }
