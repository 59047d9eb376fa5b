"""JSON Schemas of the API bodies: the handlers check requests with them and openapi.py
publishes them, so the document and the implementation cannot drift apart."""
from ..money import MINOR_UNITS
from .errors import ApiError

ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
AMOUNT = {"type": "string", "pattern": r"^[0-9]{1,16}(\.[0-9]{1,4})?$",
          "description": "A positive decimal string in the currency's minor units, e.g. \"12.50\"."}
TEXT = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}

CREATE_WALLET = {
    "type": "object", "additionalProperties": False, "required": ["owner_name", "currency"],
    "properties": {
        "owner_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "currency": {"type": "string", "enum": sorted(MINOR_UNITS)},
        "owner_email": {"type": ["string", "null"], "maxLength": 320},
        "external_ref": {"type": ["string", "null"], "maxLength": 100},
    },
}
FUND = {
    "type": "object", "additionalProperties": False, "required": ["amount"],
    "properties": {"amount": AMOUNT, "reference": {"type": ["string", "null"], "maxLength": 500}},
}
TRANSFER = {
    "type": "object", "additionalProperties": False,
    "required": ["from_wallet_id", "to_wallet_id", "amount"],
    "properties": {"from_wallet_id": ID, "to_wallet_id": ID, "amount": AMOUNT,
                   "reference": {"type": ["string", "null"], "maxLength": 500}},
}
WALLET = {
    "type": "object",
    "required": ["id", "owner_name", "owner_email", "external_ref", "currency", "balance", "status",
                 "created_at", "updated_at"],
    "properties": {"id": ID, "owner_name": {"type": "string"}, "owner_email": TEXT, "external_ref": TEXT,
                   "currency": {"type": "string"}, "balance": {"type": "string"},
                   "status": {"type": "string", "enum": ["active", "frozen", "closed"]},
                   "created_at": TIMESTAMP, "updated_at": TIMESTAMP},
}
ENTRY = {"type": "object", "required": ["wallet_id", "system", "amount", "balance_after"],
         "description": "A leg: the legs of a transaction sum to zero. A system wallet's leg (`system`: "
                        "world, fees) carries no balance_after.",
         "properties": {"wallet_id": ID, "system": {"type": ["string", "null"], "enum": ["world", "fees", None]},
                        "amount": {"type": "string"}, "balance_after": {"type": ["string", "null"]}}}
TRANSACTION = {
    "type": "object",
    "required": ["id", "kind", "amount", "currency", "source_wallet_id", "dest_wallet_id", "reference",
                 "created_by", "created_at", "entries"],
    "properties": {"id": ID, "kind": {"type": "string"}, "amount": {"type": "string"},
                   "currency": {"type": "string"}, "source_wallet_id": {"type": ["integer", "null"]},
                   "dest_wallet_id": {"type": ["integer", "null"]}, "reference": TEXT, "created_by": {"type": "string"},
                   "created_at": TIMESTAMP, "entries": {"type": "array", "items": ENTRY}},
}
HISTORY_ENTRY = {
    "type": "object",
    "required": ["id", "transaction_id", "kind", "amount", "balance_after", "counterparty_wallet_id",
                 "reference", "created_at"],
    "properties": {"id": ID, "transaction_id": ID, "kind": {"type": "string"}, "amount": {"type": "string"},
                   "balance_after": {"type": "string"}, "counterparty_wallet_id": {"type": ["integer", "null"]},
                   "reference": TEXT, "created_by": {"type": "string"}, "created_at": TIMESTAMP},
}
PROBLEM = {
    "type": "object", "required": ["type", "title", "status", "detail", "code"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "code": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object"}}},
}


def page_of(item: dict) -> dict:
    return {"type": "object", "required": ["data", "next_cursor"],
            "properties": {"data": {"type": "array", "items": item}, "next_cursor": TEXT}}


_TYPES = {"string": str, "integer": int, "object": dict, "array": list, "null": type(None)}


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
        if spec is AMOUNT:
            continue  # the service refuses non-strings with invalid_amount
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        if not any(isinstance(value, _TYPES[t]) and not (t == "integer" and isinstance(value, bool))
                   for t in types):
            raise ApiError(422, "invalid_input", f"{name} must be of type {' or '.join(types)}.", field=name)
    return body
