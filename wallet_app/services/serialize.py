"""Plain, JSON-ready shapes of ledger rows: amounts as currency-scaled strings, times ISO 8601."""
from ..money import format_amount


def iso(ts) -> str | None:
    return ts.isoformat().replace("+00:00", "Z") if ts is not None else None


def wallet_dict(w) -> dict:
    return {
        "id": w.id, "owner_name": w.owner_name, "owner_email": w.owner_email,
        "external_ref": w.external_ref, "currency": w.currency,
        "balance": format_amount(w.balance, w.currency), "status": w.status,
        "created_at": iso(w.created_at), "updated_at": iso(w.updated_at),
    }


def history_entry_dict(row, currency: str) -> dict:
    return {
        "id": row.id, "transaction_id": row.transaction_id, "kind": row.kind,
        "amount": format_amount(row.amount, currency),
        "balance_after": format_amount(row.balance_after, currency),
        "counterparty_wallet_id": row.counterparty_wallet_id, "reference": row.reference,
        "created_by": row.created_by, "created_at": iso(row.created_at),
    }
