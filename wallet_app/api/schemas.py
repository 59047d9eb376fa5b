"""JSON Schemas of the API bodies: the handlers check requests with them and openapi.py
publishes them, so the document and the implementation cannot drift apart."""

from ..ledger.catalogue import KINDS, SYSTEM_PURPOSES
from ..models import TRANSACTION_STATUSES, WALLET_STATUSES
from ..money import MINOR_UNITS
from .errors import ApiError

ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
AMOUNT = {
    "type": "string",
    "pattern": r"^[0-9]{1,16}(\.[0-9]{1,4})?$",
    "description": 'A positive decimal string in the currency\'s minor units, e.g. "12.50".',
}
TEXT = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}

CREATE_WALLET = {
    "type": "object",
    "additionalProperties": False,
    "required": ["owner_name", "currency"],
    "properties": {
        "owner_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "currency": {"type": "string", "enum": sorted(MINOR_UNITS)},
        "owner_email": {"type": ["string", "null"], "maxLength": 320},
        "external_ref": {"type": ["string", "null"], "maxLength": 100},
    },
}


def asked(kind) -> dict:
    """The body of a kind asked for on one wallet: its catalogue fields (ledger/catalogue.py)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in kind.fields if f.required],
        "properties": {f.name: _field(f) for f in kind.fields},
    }


def _field(f) -> dict:
    if f.type == "amount":
        return AMOUNT
    if f.type == "choice":
        return {"type": "string", "enum": [value for value, _ in f.choices], "description": f.label}
    if f.required:
        return {"type": "string", "minLength": 1, "maxLength": f.max_length, "description": f.label}
    return {"type": ["string", "null"], "maxLength": f.max_length, "description": f.label}


RATE = {
    "type": "string",
    "pattern": r"^[0-9]{1,12}(\.[0-9]{1,12})?$",
    "description": 'Destination units per source unit, a decimal string, e.g. "0.9215".',
}
TRANSFER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["from_wallet_id"],
    "description": "to_wallet_id and amount; or, for a split, `to` instead of both.",
    "properties": {
        "from_wallet_id": ID,
        "to_wallet_id": ID,
        "amount": AMOUNT,
        "to": {
            "type": "array",
            "minItems": 2,
            "maxItems": 100,
            "description": "A split: 2 to 100 wallets of the payer's currency, each once, paid in one transaction "
            "(kind split: one debit of their sum, a credit each, one fee: a transfer's). "
            "Instead of to_wallet_id and amount; not with rate or pending.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["wallet_id", "amount"],
                "properties": {"wallet_id": ID, "amount": AMOUNT},
            },
        },
        "reference": {"type": ["string", "null"], "maxLength": 500},
        "rate": {
            **RATE,
            "type": ["string", "null"],
            "description": "Between currencies, the rate you expect: "
            + RATE["description"]
            + " Only a check: the pair's rate in GET /rates always applies; "
            "further from it than the pair's tolerance_bps, rate_mismatch.",
        },
        "pending": {
            "type": "boolean",
            "description": "Hold the amount (201, status pending) until captured or voided; default false.",
        },
        "expires_in": {
            "type": "integer",
            "minimum": 1,
            "maximum": 30 * 86400,
            "description": "A pending transfer's life in seconds (default 7 days).",
        },
    },
}
CAPTURE = {
    "type": "object",
    "additionalProperties": False,
    "required": [],
    "properties": {
        "amount": {**AMOUNT, "description": "At most the held amount (default: all of it); the rest is released."}
    },
}
EMPTY = {"type": "object", "additionalProperties": False, "required": [], "properties": {}}
REJECT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
}
NULLABLE_AMOUNT = {"type": ["string", "null"], "pattern": AMOUNT["pattern"]}
BATCH_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "amount"],
    "description": "A movement, with the fields its kind takes in the single endpoints: a transfer "
    "from_wallet_id and to_wallet_id, a withdrawal from_wallet_id, a fund to_wallet_id.",
    "properties": {
        "kind": {"type": "string", "enum": ["transfer", "withdrawal", "fund"]},
        "from_wallet_id": ID,
        "to_wallet_id": ID,
        "amount": AMOUNT,
        "reference": {"type": ["string", "null"], "maxLength": 500},
    },
}
BATCH = {
    "type": "object",
    "additionalProperties": False,
    "required": ["mode", "items"],
    "properties": {
        "mode": {
            "type": "string",
            "enum": ["atomic", "independent"],
            "description": "atomic: every item posted, or none (422 batch_refused naming each refused item); "
            "independent: each item posted or refused on its own.",
        },
        "items": {"type": "array", "minItems": 1, "maxItems": 1000, "items": BATCH_ITEM},
    },
}
REVERSAL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reason"],
    "properties": {
        "amount": {**AMOUNT, "description": "Defaults to what is left to reverse."},
        "reason": {"type": "string", "minLength": 1, "maxLength": 500},
        "refund_fee": {"type": "boolean", "description": "Also return the original's fee (default false)."},
    },
}
PATCH_WALLET = {
    "type": "object",
    "additionalProperties": False,
    "required": [],
    "description": "Limits (an amount, or null to remove; the overdraft limit then is 0), alert lines on the "
    "available balance (a balance.alert event when it crosses one; null removes it) and/or a status with its "
    "reason. Needs the manage scope.",
    "properties": {
        "overdraft_limit": NULLABLE_AMOUNT,
        "max_balance": NULLABLE_AMOUNT,
        "daily_outflow_limit": NULLABLE_AMOUNT,
        "alert_below": NULLABLE_AMOUNT,
        "alert_above": NULLABLE_AMOUNT,
        "status": {"type": "string", "enum": list(WALLET_STATUSES)},
        "reason": {"type": ["string", "null"], "maxLength": 500},
    },
}
EVENT_TYPES = {"type": "array", "items": {"type": "string"}, "description": "empty or absent: every type"}
WEBHOOK_ENDPOINT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "minLength": 1, "maxLength": 2000},
        "event_types": EVENT_TYPES,
        "enabled": {"type": "boolean"},
    },
}
WEBHOOK_ENDPOINT_PATCH = {**WEBHOOK_ENDPOINT, "required": []}
ENDPOINT_ANSWER = {
    "type": "object",
    "required": ["id", "url", "event_types", "enabled", "disabled_reason", "created_by", "created_at", "updated_at"],
    "properties": {
        "id": ID,
        "url": {"type": "string"},
        "event_types": {"type": "array", "items": {"type": "string"}},
        "enabled": {"type": "boolean"},
        "disabled_reason": TEXT,
        "created_by": {"type": "string"},
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "secret": {"type": "string", "description": "whsec_...: in the answers that make or rotate it only"},
    },
}
EVENT = {
    "type": "object",
    "required": ["id", "type", "sequence", "created_at", "data"],
    "properties": {
        "id": {"type": "string", "description": "evt_...: also each webhook delivery's webhook-id"},
        "type": {"type": "string"},
        "sequence": {"type": "integer", "description": "its place in the feed: only grows"},
        "created_at": TIMESTAMP,
        "data": {"type": ["object", "null"], "description": "the object as the API answers it"},
    },
}
EVENTS_PAGE = {
    "type": "object",
    "required": ["data", "next_after"],
    "properties": {"data": {"type": "array", "items": EVENT}, "next_after": {"type": "integer", "minimum": 0}},
}
ATTEMPTS = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["at", "event_id", "type", "code", "error", "body", "ms", "delivery"],
                "properties": {
                    "at": TIMESTAMP,
                    "event_id": {"type": "string"},
                    "type": {"type": "string"},
                    "code": {"type": ["integer", "null"]},
                    "error": TEXT,
                    "body": TEXT,
                    "ms": {"type": "integer"},
                    "delivery": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                },
            },
        }
    },
}
MONEY_OR_NULL = {"type": ["string", "null"]}
WALLET = {
    "type": "object",
    "required": [
        "id",
        "owner_name",
        "owner_email",
        "external_ref",
        "currency",
        "balance",
        "held",
        "available",
        "overdraft_limit",
        "max_balance",
        "daily_outflow_limit",
        "alert_below",
        "alert_above",
        "status",
        "status_reason",
        "status_changed_by",
        "status_changed_at",
        "created_at",
        "updated_at",
    ],
    "properties": {
        "id": ID,
        "owner_name": {"type": "string"},
        "owner_email": TEXT,
        "external_ref": TEXT,
        "currency": {"type": "string"},
        "balance": {"type": "string"},
        "held": {"type": "string", "description": "what its pending holds reserve"},
        "available": {"type": "string", "description": "balance + overdraft_limit - held: what it can pay now"},
        "overdraft_limit": {"type": "string"},
        "max_balance": MONEY_OR_NULL,
        "daily_outflow_limit": MONEY_OR_NULL,
        "alert_below": {"type": ["string", "null"], "description": "balance.alert when available goes below it"},
        "alert_above": {"type": ["string", "null"], "description": "balance.alert when available goes above it"},
        "status": {"type": "string", "enum": list(WALLET_STATUSES)},
        "status_reason": TEXT,
        "status_changed_by": TEXT,
        "status_changed_at": {"type": ["string", "null"], "format": "date-time"},
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    },
}
FEE = {
    "type": "object",
    "required": ["currency", "kind", "fixed", "bps", "minimum", "maximum"],
    "properties": {
        "currency": {"type": "string"},
        "kind": {"type": "string"},
        "fixed": {"type": "string"},
        "bps": {"type": "integer"},
        "minimum": MONEY_OR_NULL,
        "maximum": MONEY_OR_NULL,
        "updated_by": TEXT,
        "updated_at": TIMESTAMP,
    },
}
ENTRY = {
    "type": "object",
    "required": ["wallet_id", "system", "amount", "balance_after"],
    "description": "A leg: the legs of a transaction sum to zero. A system wallet's leg (`system`: "
    "world, fees) carries no balance_after.",
    "properties": {
        "wallet_id": ID,
        "system": {"type": ["string", "null"], "enum": [*SYSTEM_PURPOSES, None]},
        "currency": {"type": "string"},
        "amount": {"type": "string"},
        "balance_after": {"type": ["string", "null"]},
    },
}
TRANSACTION = {
    "type": "object",
    "required": [
        "id",
        "kind",
        "amount",
        "currency",
        "fee",
        "source_wallet_id",
        "dest_wallet_id",
        "reference",
        "reason",
        "reverses_transaction_id",
        "reversed_amount",
        "fee_refunded",
        "reversal_ids",
        "created_by",
        "created_at",
        "status",
        "entries",
    ],
    "properties": {
        "id": ID,
        "kind": {"type": "string", "enum": list(KINDS)},
        "status": {
            "type": "string",
            "enum": list(TRANSACTION_STATUSES),
            "description": "pending and awaiting_approval hold the amount and have no entries "
            "until captured or approved.",
        },
        "held_amount": {"type": "string", "description": "A hold's reservation, its fee included."},
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
        "resolved_at": {"type": ["string", "null"], "format": "date-time"},
        "resolved_by": TEXT,
        "resolve_reason": TEXT,
        "approved_by": {
            "type": ["string", "null"],
            "description": "The second person who approved it (four eyes), if one did.",
        },
        "approved_at": {"type": ["string", "null"], "format": "date-time"},
        "batch_id": {"type": ["integer", "null"], "description": "The batch that posted it (POST /batches)."},
        "rate": {"type": "string", "description": "An exchange's rate."},
        "dest_currency": {"type": "string"},
        "dest_amount": {"type": ["string", "null"]},
        "amount": {"type": "string"},
        "fee": {"type": "string"},
        "reason": TEXT,
        "reverses_transaction_id": {"type": ["integer", "null"]},
        "reversed_amount": {"type": "string"},
        "fee_refunded": {"type": "boolean"},
        "reversal_ids": {"type": "array", "items": ID},
        "currency": {"type": "string"},
        "source_wallet_id": {"type": ["integer", "null"]},
        "dest_wallet_id": {"type": ["integer", "null"]},
        "reference": TEXT,
        "created_by": {"type": "string"},
        "created_at": TIMESTAMP,
        "entries": {"type": "array", "items": ENTRY},
    },
}
HOLD = {
    "type": "object",
    "required": [
        "id",
        "kind",
        "status",
        "amount",
        "currency",
        "held_amount",
        "source_wallet_id",
        "dest_wallet_id",
        "created_by",
        "created_at",
        "expires_at",
    ],
    "properties": {
        "id": ID,
        "kind": {"type": "string"},
        "status": {"type": "string"},
        "amount": {"type": "string"},
        "currency": {"type": "string"},
        "held_amount": {"type": "string"},
        "fee": {"type": "string"},
        "source_wallet_id": {"type": ["integer", "null"]},
        "dest_wallet_id": {"type": ["integer", "null"]},
        "reference": TEXT,
        "reason": {**TEXT, "description": "Why it was asked for (a reversal, an adjustment)."},
        "source_owner": TEXT,
        "dest_owner": TEXT,
        "created_by": {"type": "string"},
        "created_at": TIMESTAMP,
        "expires_at": TIMESTAMP,
        "resolved_by": TEXT,
        "resolved_at": {"type": ["string", "null"], "format": "date-time"},
        "resolve_reason": TEXT,
    },
}
FX_RATE = {
    "type": "object",
    "required": ["base", "quote", "rate", "spread_bps", "updated_at"],
    "properties": {
        "base": {"type": "string"},
        "quote": {"type": "string"},
        "rate": {"type": "string"},
        "spread_bps": {"type": "integer"},
        "updated_by": TEXT,
        "updated_at": TIMESTAMP,
    },
}
HISTORY_ENTRY = {
    "type": "object",
    "required": [
        "id",
        "transaction_id",
        "kind",
        "amount",
        "balance_after",
        "counterparty_wallet_id",
        "reference",
        "created_at",
    ],
    "properties": {
        "id": ID,
        "transaction_id": ID,
        "kind": {"type": "string"},
        "amount": {"type": "string"},
        "balance_after": {"type": "string"},
        "counterparty_wallet_id": {"type": ["integer", "null"]},
        "reference": TEXT,
        "fee": MONEY_OR_NULL,
        "reverses_transaction_id": {"type": ["integer", "null"]},
        "held_amount": MONEY_OR_NULL,
        "created_by": {"type": "string"},
        "created_at": TIMESTAMP,
    },
}
BALANCE_AT = {
    "type": "object",
    "required": ["wallet_id", "currency", "at", "balance"],
    "properties": {"wallet_id": ID, "currency": {"type": "string"}, "at": TIMESTAMP, "balance": {"type": "string"}},
}
STATEMENT = {
    "type": "object",
    "required": [
        "wallet_id",
        "currency",
        "from",
        "to",
        "opening_balance",
        "closing_balance",
        "total_in",
        "total_out",
        "movement_count",
        "movements",
        "next_cursor",
    ],
    "properties": {
        "wallet_id": ID,
        "owner_name": {"type": "string"},
        "currency": {"type": "string"},
        "from": TIMESTAMP,
        "to": TIMESTAMP,
        "opening_balance": {"type": "string"},
        "closing_balance": {"type": "string"},
        "total_in": {"type": "string"},
        "total_out": {"type": "string"},
        "movement_count": {"type": "integer", "minimum": 0},
        "movements": {
            "type": "array",
            "items": {
                **HISTORY_ENTRY,
                "properties": {**HISTORY_ENTRY["properties"], "description": {"type": "string"}},
            },
        },
        "next_cursor": {"type": ["string", "null"]},
    },
}
TRIAL_BALANCE = {
    "type": "object",
    "required": ["at", "currencies"],
    "properties": {
        "at": TIMESTAMP,
        "currencies": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["currency", "lines", "sum", "balanced"],
                "properties": {
                    "currency": {"type": "string"},
                    "lines": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["label", "wallets", "balance"],
                            "properties": {
                                "label": {"type": "string"},
                                "wallets": {"type": "integer"},
                                "balance": {"type": "string"},
                            },
                        },
                    },
                    "sum": {"type": "string"},
                    "balanced": {"type": "boolean"},
                    "empty": {"type": "boolean"},
                },
            },
        },
    },
}
PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


def page_of(item: dict) -> dict:
    return {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {"data": {"type": "array", "items": item}, "next_cursor": TEXT},
    }


_TYPES = {"string": str, "integer": int, "object": dict, "array": list, "null": type(None), "boolean": bool}


def check(body, schema: dict) -> dict:
    """Check a request body's shape: object, required fields, no unknown fields, JSON types.

    Values (amount format, id range, lengths) are the service's to judge, so each error
    keeps the service's stable code (a JSON number amount is `invalid_amount`).
    """
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_body", "The body must be a JSON object.")
    for name in schema["required"]:
        if name not in body:
            raise ApiError(422, "invalid_input", f"{name} is required.", field=name)
    for name, value in body.items():
        spec = schema["properties"].get(name)
        if spec is None:
            raise ApiError(422, "invalid_input", f"Unknown field {name}.", field=name)
        if spec is AMOUNT or spec is NULLABLE_AMOUNT or spec.get("pattern") == AMOUNT["pattern"]:
            if value is None and "null" not in spec["type"]:  # null is not "all" (capture, reversal)
                raise ApiError(
                    422,
                    "invalid_amount",
                    f'{name} is a decimal string such as "12.50"; leave it out for the default.',
                    field=name,
                )
            continue  # the service refuses non-strings with invalid_amount
        if spec.get("pattern") == RATE["pattern"] and value is not None:
            continue  # the service refuses a float rate, naming the field
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        if not any(isinstance(value, _TYPES[t]) and not (t == "integer" and isinstance(value, bool)) for t in types):
            raise ApiError(422, "invalid_input", f"{name} must be of type {' or '.join(types)}.", field=name)
    return body


BATCH_ANSWER = {
    "type": "object",
    "required": ["id", "mode", "status", "items"],
    "properties": {
        "id": ID,
        "mode": {"type": "string", "enum": ["atomic", "independent"]},
        "status": {
            "type": "string",
            "enum": ["posted", "partially_posted", "refused", "awaiting_approval", "rejected", "expired"],
        },
        "created_by": {"type": "string"},
        "created_at": TIMESTAMP,
        "resolved_by": TEXT,
        "resolved_at": {"type": ["string", "null"], "format": "date-time"},
        "expires_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "A waiting batch's end: past it, it is neither approved nor rejected (expired).",
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "status"],
                "properties": {
                    "index": {"type": "integer", "minimum": 0},
                    "status": {
                        "type": "string",
                        "enum": ["posted", "refused", "awaiting_approval", "rejected", "expired"],
                    },
                    "kind": {"type": "string", "enum": ["transfer", "withdrawal", "fund"]},
                    "from_wallet_id": {"type": ["integer", "null"]},
                    "to_wallet_id": {"type": ["integer", "null"]},
                    "amount": {"type": "string"},
                    "currency": {
                        "type": ["string", "null"],
                        "description": "null: a refused item naming no wallet that exists",
                    },
                    "reference": TEXT,
                    "transaction": TRANSACTION,
                    "error": {
                        "type": "object",
                        "required": ["code", "detail"],
                        "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
                    },
                },
            },
        },
    },
}


SIGNED_AMOUNT = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
DAY = {"type": "string", "format": "date"}
STATEMENT_LINE = {
    "type": "object",
    "required": ["line_id", "line", "date", "amount", "status"],
    "properties": {
        "line_id": ID,
        "line": {"type": "integer", "description": "The line's number in the file (1 is the header)."},
        "bank_id": TEXT,
        "date": DAY,
        "amount": {**SIGNED_AMOUNT, "description": "Positive: money in; negative: money out."},
        "reference": TEXT,
        "description": TEXT,
        "status": {"type": "string", "enum": ["open", "awaiting_approval"]},
        "adjustment_id": {"type": ["integer", "null"]},
    },
}
LEDGER_BREAK = {
    "type": "object",
    "required": ["transaction_id", "kind", "created_at", "amount"],
    "properties": {
        "transaction_id": ID,
        "kind": {"type": "string", "enum": ["fund", "withdrawal"]},
        "created_at": TIMESTAMP,
        "amount": AMOUNT,
        "reference": TEXT,
        "wallet_id": {"type": ["integer", "null"]},
    },
}
_RECONCILIATION_COUNTS = {
    "id": ID,
    "currency": {"type": "string"},
    "lines": {"type": "integer", "description": "Lines read from the file."},
    "imported": {"type": "integer"},
    "duplicates": {
        "type": "integer",
        "description": "Lines imported before (same bank id; or day, amount and reference without one): skipped.",
    },
    "first_day": DAY,
    "last_day": DAY,
    "created_by": {"type": "string"},
    "created_at": TIMESTAMP,
}
RECONCILIATION = {
    "type": "object",
    "required": ["id", "lines", "matched", "duplicates", "unmatched_statement", "unmatched_ledger"],
    "properties": {
        **_RECONCILIATION_COUNTS,
        "matched": {"type": "integer", "description": "Imported lines matched (or cleared by a posted adjustment)."},
        "tolerance": {"type": "string"},
        "window_days": {"type": "integer"},
        "layout": TEXT,
        "unmatched_statement": {"type": "array", "items": STATEMENT_LINE},
        "unmatched_statement_count": {"type": "integer"},
        "unmatched_ledger": {"type": "array", "items": LEDGER_BREAK},
        "unmatched_ledger_count": {"type": "integer"},
        "listed_at_most": {
            "type": "integer",
            "description": "Each list holds at most this many; the counts "
            "say how many there are, and breaks.csv has them all.",
        },
    },
}
RECONCILIATION_ITEM = {
    "type": "object",
    "required": ["id", "lines", "open_breaks"],
    "properties": {**_RECONCILIATION_COUNTS, "open_breaks": {"type": "integer"}},
}
