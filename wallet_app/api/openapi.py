"""The OpenAPI 3.1 document, built from the schemas the handlers check requests with."""

from ..finance.bank_csv import COLUMNS
from ..ledger.catalogue import ASKED
from ..models.bank import DATE_FORMATS
from ..money import MINOR_UNITS
from . import schemas as s

_AUTH = [{"bearer": []}]


def _problem(*statuses: int) -> dict:
    return {
        str(code): {"description": "Error", "content": {"application/problem+json": {"schema": s.PROBLEM}}}
        for code in statuses
    }


def _ok(code: int, schema: dict, headers: dict | None = None) -> dict:
    response = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return {str(code): response}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _param(name: str, where: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema}


ID_PATH = lambda name: _param(name, "path", s.ID, required=True)  # noqa: E731
KEY = _param("Idempotency-Key", "header", {"type": "string", "minLength": 1, "maxLength": 255}, required=True)
REPLAYED = {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}}
CURSOR = [
    _param("cursor", "query", {"type": "string"}),
    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200}),
]
STATEMENT_PERIOD = [
    _param("from", "query", {"type": "string"}, required=True),
    _param("to", "query", {"type": "string"}, required=True),
]
READ_ERRORS = (400, 401, 403, 404, 422, 429)
WRITE_ERRORS = (400, 401, 403, 404, 413, 415, 422, 429)


def _asked(kind) -> dict:
    """A kind asked for on one wallet, as its catalogue entry describes it."""
    operation = {
        "operationId": kind.api_operation,
        "parameters": [ID_PATH("wallet_id"), KEY],
        "requestBody": _body(s.asked(kind)),
        "responses": {
            **_ok(201, s.TRANSACTION, REPLAYED),
            **_ok(202, s.TRANSACTION, REPLAYED),
            **_problem(*WRITE_ERRORS),
        },
    }
    if kind.api_doc:
        operation["description"] = kind.api_doc
    return operation


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wallet API",
            "version": "1.0.0",
            "description": "Amounts are decimal strings; every movement needs an Idempotency-Key. "
            "422 codes: insufficient_funds, currency_mismatch, wallet_not_active, same_wallet, "
            "invalid_amount, invalid_input, idempotency_key_reused, max_balance_exceeded, "
            "daily_limit_exceeded, balance_limit_exceeded, reversal_exceeds_original, "
            "not_reversible, fee_already_refunded, balance_not_zero, wallet_closed, "
            "hold_not_pending, capture_exceeds_hold, not_awaiting_approval, rate_stale, "
            "rate_mismatch, holds_open, kind_not_reversible, kind_not_holdable, invalid_statement. "
            "403 maker_cannot_approve, "
            "not_hold_maker. A fund, "
            "transfer, exchange, withdrawal or reversal that takes its wallet's unapproved "
            "movements of the last 24 hours above its currency's approval threshold (or the "
            "default) answers 202 with status awaiting_approval (its source's amount held), "
            "whatever the token's scopes: another owner approves.",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": _AUTH,
        "paths": {
            "/wallets": {
                "get": {
                    "operationId": "listWallets",
                    "parameters": [_param("q", "query", {"type": "string"})] + CURSOR,
                    "responses": {**_ok(200, s.page_of(s.WALLET)), **_problem(*READ_ERRORS)},
                },
                "post": {
                    "operationId": "createWallet",
                    "requestBody": _body(s.CREATE_WALLET),
                    "responses": {**_ok(201, s.WALLET), **_problem(*WRITE_ERRORS)},
                },
            },
            "/wallets/{wallet_id}": {
                "get": {
                    "operationId": "getWallet",
                    "parameters": [ID_PATH("wallet_id")],
                    "responses": {**_ok(200, s.WALLET), **_problem(*READ_ERRORS)},
                },
                "patch": {
                    "operationId": "updateWallet",
                    "parameters": [ID_PATH("wallet_id")],
                    "description": "Refusals: max_balance_exceeded-style limits below the balance are "
                    "invalid_input; balance_not_zero (close); wallet_closed.",
                    "requestBody": _body(s.PATCH_WALLET),
                    "responses": {**_ok(200, s.WALLET), **_problem(*WRITE_ERRORS)},
                },
            },
            "/transactions/{transaction_id}/reversals": {
                "post": {
                    "operationId": "reverseTransaction",
                    "parameters": [ID_PATH("transaction_id"), KEY],
                    "description": "Refusals (422): reversal_exceeds_original, insufficient_funds, not_reversible, "
                    "fee_already_refunded, wallet_not_active.",
                    "requestBody": _body(s.REVERSAL),
                    "responses": {**_ok(201, s.TRANSACTION, REPLAYED), **_problem(*WRITE_ERRORS)},
                }
            },
            "/fees": {
                "get": {
                    "operationId": "listFees",
                    "responses": {
                        **_ok(
                            200,
                            {
                                "type": "object",
                                "required": ["data"],
                                "properties": {"data": {"type": "array", "items": s.FEE}},
                            },
                        ),
                        **_problem(401, 403, 429),
                    },
                }
            },
            **{f"/wallets/{{wallet_id}}/{path}": {"post": _asked(kind)} for path, kind in ASKED.items()},
            "/transfers": {
                "post": {
                    "operationId": "transfer",
                    "parameters": [KEY],
                    "requestBody": _body(s.TRANSFER),
                    "description": "Between currencies, an exchange (kind exchange) at the pair's rate in GET /rates "
                    "(rate_stale if too old; currency_mismatch without any). `rate` is only a check: "
                    "further from the house's rate than the pair's tolerance_bps, rate_mismatch. With "
                    "`pending`, a hold: status pending, nothing moves, the source's available drops.",
                    "responses": {
                        **_ok(201, s.TRANSACTION, REPLAYED),
                        **_ok(202, s.TRANSACTION, REPLAYED),
                        **_problem(*WRITE_ERRORS),
                    },
                }
            },
            "/transfers/{transaction_id}/capture": {
                "post": {
                    "operationId": "captureHold",
                    "parameters": [ID_PATH("transaction_id"), KEY],
                    "description": "Post a pending hold (status posted, with its entries); only its maker's owner "
                    "(403 not_hold_maker). An exchange converts at the house's rate of now. Refusals "
                    "(422): hold_not_pending (voided, captured, expired), capture_exceeds_hold.",
                    "requestBody": {**_body(s.CAPTURE), "required": False},
                    "responses": {**_ok(200, s.TRANSACTION, REPLAYED), **_problem(*WRITE_ERRORS)},
                }
            },
            "/transfers/{transaction_id}/void": {
                "post": {
                    "operationId": "voidHold",
                    "parameters": [ID_PATH("transaction_id"), KEY],
                    "description": "Release a pending hold (status voided); only its maker's owner (403 "
                    "not_hold_maker). Refusal (422): hold_not_pending.",
                    "responses": {**_ok(200, s.TRANSACTION, REPLAYED), **_problem(*WRITE_ERRORS)},
                }
            },
            "/transactions/{transaction_id}/approve": {
                "post": {
                    "operationId": "approveTransaction",
                    "parameters": [ID_PATH("transaction_id"), KEY],
                    "description": "Needs the approve scope; never the maker's owner (403 maker_cannot_approve: "
                    "two tokens of one owner are one person). Posts the movement under every check, "
                    "an exchange at the house's rate of now (refused, it stays waiting).",
                    "responses": {**_ok(200, s.TRANSACTION, REPLAYED), **_problem(*WRITE_ERRORS)},
                }
            },
            "/transactions/{transaction_id}/reject": {
                "post": {
                    "operationId": "rejectTransaction",
                    "parameters": [ID_PATH("transaction_id"), KEY],
                    "description": "Needs the approve scope; never the maker. Status rejected, the hold released.",
                    "requestBody": _body(s.REJECT),
                    "responses": {**_ok(200, s.TRANSACTION, REPLAYED), **_problem(*WRITE_ERRORS)},
                }
            },
            "/batches": {
                "post": {
                    "operationId": "postBatch",
                    "parameters": [KEY],
                    "requestBody": _body(s.BATCH),
                    "description": "1 to 1,000 movements (more: 413 batch_too_large) in one request, one engine call "
                    "and one commit; item i is claimed as `<key>:<i>`. atomic: all posted (201), or none "
                    "(422 batch_refused, `errors` naming each refused item's index, code and detail). "
                    "independent: 201 with status posted, partially_posted or refused, each item posted "
                    "with its transaction or refused with its error. A malformed item is a 422 naming "
                    "items[i].field, nothing posted. Above a currency's threshold (the batch's total, or "
                    "any wallet's share with its unapproved day) the whole batch waits: 202 "
                    "awaiting_approval, decided by another principal before its expires_at "
                    "(APPROVAL_EXPIRES_DAYS); past it, the batch is expired.",
                    "responses": {
                        **_ok(201, s.BATCH_ANSWER, REPLAYED),
                        **_ok(202, s.BATCH_ANSWER, REPLAYED),
                        **_problem(*WRITE_ERRORS),
                    },
                }
            },
            "/batches/{batch_id}": {
                "get": {
                    "operationId": "getBatch",
                    "parameters": [ID_PATH("batch_id")],
                    "responses": {**_ok(200, s.BATCH_ANSWER), **_problem(*READ_ERRORS)},
                }
            },
            "/batches/{batch_id}/approve": {
                "post": {
                    "operationId": "approveBatch",
                    "parameters": [ID_PATH("batch_id"), KEY],
                    "description": "Needs the approve scope; never the maker's (403 maker_cannot_approve). Posts "
                    "the batch as one, in its mode, under every check (atomic and refused: 422 "
                    "batch_refused, it stays waiting). Past its expires_at: 422 not_awaiting_approval.",
                    "responses": {**_ok(200, s.BATCH_ANSWER, REPLAYED), **_problem(*WRITE_ERRORS)},
                }
            },
            "/batches/{batch_id}/reject": {
                "post": {
                    "operationId": "rejectBatch",
                    "parameters": [ID_PATH("batch_id"), KEY],
                    "description": "Needs the approve scope; never the maker's. Nothing of it is posted.",
                    "requestBody": _body(s.REJECT),
                    "responses": {**_ok(200, s.BATCH_ANSWER, REPLAYED), **_problem(*WRITE_ERRORS)},
                }
            },
            "/approvals": {
                "get": {
                    "operationId": "listApprovals",
                    "parameters": CURSOR,
                    "responses": {**_ok(200, s.page_of(s.HOLD)), **_problem(*READ_ERRORS)},
                }
            },
            "/wallets/{wallet_id}/holds": {
                "get": {
                    "operationId": "walletHolds",
                    "parameters": [ID_PATH("wallet_id"), *CURSOR],
                    "responses": {**_ok(200, s.page_of(s.HOLD)), **_problem(*READ_ERRORS)},
                }
            },
            "/rates": {
                "get": {
                    "operationId": "listRates",
                    "responses": {
                        **_ok(
                            200,
                            {
                                "type": "object",
                                "required": ["data"],
                                "properties": {"data": {"type": "array", "items": s.FX_RATE}},
                            },
                        ),
                        **_problem(401, 403, 429),
                    },
                }
            },
            "/transactions/{transaction_id}": {
                "get": {
                    "operationId": "getTransaction",
                    "parameters": [ID_PATH("transaction_id")],
                    "responses": {**_ok(200, s.TRANSACTION), **_problem(*READ_ERRORS)},
                }
            },
            "/wallets/{wallet_id}/history": {
                "get": {
                    "operationId": "walletHistory",
                    "parameters": [
                        ID_PATH("wallet_id"),
                        *CURSOR,
                        _param("since", "query", s.TIMESTAMP),
                        _param("until", "query", s.TIMESTAMP),
                    ],
                    "responses": {**_ok(200, s.page_of(s.HISTORY_ENTRY)), **_problem(*READ_ERRORS)},
                }
            },
            "/wallets/{wallet_id}/history.csv": {
                "get": {
                    "operationId": "walletHistoryCsv",
                    "parameters": [
                        ID_PATH("wallet_id"),
                        _param("since", "query", {"type": "string", "format": "date"}),
                        _param("until", "query", {"type": "string", "format": "date"}),
                        _param("kind", "query", {"type": "string"}),
                    ],
                    "responses": {
                        "200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                        **_problem(*READ_ERRORS),
                    },
                }
            },
            "/wallets/{wallet_id}/balance": {
                "get": {
                    "operationId": "walletBalanceAt",
                    "description": "The balance after the wallet's last movement at or before `at` (ISO 8601; "
                    "without an offset: UTC; a date alone: its midnight UTC). Zero before its first movement; "
                    "a moment still to come is refused (422, field at).",
                    "parameters": [ID_PATH("wallet_id"), _param("at", "query", {"type": "string"}, required=True)],
                    "responses": {**_ok(200, s.BALANCE_AT), **_problem(*READ_ERRORS)},
                }
            },
            "/wallets/{wallet_id}/statement": {
                "get": {
                    "operationId": "walletStatement",
                    "description": "The statement for [from, to): opening and closing balances, money in and out "
                    "(opening + in - out = closing) and the movements oldest first, a page at a time.",
                    "parameters": [
                        ID_PATH("wallet_id"),
                        *STATEMENT_PERIOD,
                        _param("cursor", "query", {"type": "string"}),
                        _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    ],
                    "responses": {**_ok(200, s.STATEMENT), **_problem(*READ_ERRORS)},
                }
            },
            "/wallets/{wallet_id}/statement.csv": {
                "get": {
                    "operationId": "walletStatementCsv",
                    "description": "The statement as CSV: an opening balance row, every movement, a closing row.",
                    "parameters": [ID_PATH("wallet_id"), *STATEMENT_PERIOD],
                    "responses": {
                        "200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                        **_problem(*READ_ERRORS),
                    },
                }
            },
            "/wallets/{wallet_id}/statement.pdf": {
                "get": {
                    "operationId": "walletStatementPdf",
                    "description": "The statement as a PDF a customer can be sent (up to 10,000 movements; more: "
                    "422, field to, ask for the CSV).",
                    "parameters": [ID_PATH("wallet_id"), *STATEMENT_PERIOD],
                    "responses": {
                        "200": {"description": "PDF", "content": {"application/pdf": {"schema": {"type": "string"}}}},
                        **_problem(*READ_ERRORS),
                    },
                }
            },
            "/trial-balance": {
                "get": {
                    "operationId": "trialBalance",
                    "description": "Per currency as of `at`: customer wallets and each system wallet (its shards as "
                    "one), summing to zero.",
                    "parameters": [_param("at", "query", {"type": "string"}, required=True)],
                    "responses": {**_ok(200, s.TRIAL_BALANCE), **_problem(401, 403, 422, 429)},
                }
            },
            "/events": {
                "get": {
                    "operationId": "listEvents",
                    "description": "The events feed in sequence order, after `after` (a sequence number); `types`: "
                    "a comma-separated list. Each event carries its object as the API answers it.",
                    "parameters": [
                        _param("after", "query", {"type": "integer", "minimum": 0}),
                        _param("types", "query", {"type": "string"}),
                        _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}),
                    ],
                    "responses": {**_ok(200, s.EVENTS_PAGE), **_problem(*READ_ERRORS)},
                }
            },
            "/webhook-endpoints": {
                "post": {
                    "operationId": "createWebhookEndpoint",
                    "description": "Needs the manage scope. The answer is the only one with the signing secret.",
                    "requestBody": _body(s.WEBHOOK_ENDPOINT),
                    "responses": {**_ok(201, s.ENDPOINT_ANSWER), **_problem(*WRITE_ERRORS)},
                },
                "get": {
                    "operationId": "listWebhookEndpoints",
                    "responses": {
                        **_ok(
                            200,
                            {"type": "object", "properties": {"data": {"type": "array", "items": s.ENDPOINT_ANSWER}}},
                        ),
                        **_problem(*READ_ERRORS),
                    },
                },
            },
            "/webhook-endpoints/{endpoint_id}": {
                "get": {
                    "operationId": "getWebhookEndpoint",
                    "parameters": [ID_PATH("endpoint_id")],
                    "responses": {**_ok(200, s.ENDPOINT_ANSWER), **_problem(*READ_ERRORS)},
                },
                "patch": {
                    "operationId": "updateWebhookEndpoint",
                    "parameters": [ID_PATH("endpoint_id")],
                    "requestBody": _body(s.WEBHOOK_ENDPOINT_PATCH),
                    "responses": {**_ok(200, s.ENDPOINT_ANSWER), **_problem(*WRITE_ERRORS)},
                },
                "delete": {
                    "operationId": "deleteWebhookEndpoint",
                    "parameters": [ID_PATH("endpoint_id")],
                    "responses": {"204": {"description": "Deleted"}, **_problem(*READ_ERRORS)},
                },
            },
            "/webhook-endpoints/{endpoint_id}/rotate-secret": {
                "post": {
                    "operationId": "rotateWebhookSecret",
                    "description": "A new secret, in this answer only; the old one signs beside it for a day.",
                    "parameters": [ID_PATH("endpoint_id")],
                    "responses": {**_ok(200, s.ENDPOINT_ANSWER), **_problem(*WRITE_ERRORS)},
                }
            },
            "/webhook-endpoints/{endpoint_id}/test": {
                "post": {
                    "operationId": "testWebhookEndpoint",
                    "description": "Queue a webhook.test event for this endpoint alone.",
                    "parameters": [ID_PATH("endpoint_id")],
                    "responses": {
                        **_ok(
                            202,
                            {
                                "type": "object",
                                "required": ["event_id"],
                                "properties": {"event_id": {"type": "string"}},
                            },
                        ),
                        **_problem(*WRITE_ERRORS),
                    },
                }
            },
            "/webhook-endpoints/{endpoint_id}/attempts": {
                "get": {
                    "operationId": "listWebhookAttempts",
                    "parameters": [ID_PATH("endpoint_id")],
                    "responses": {**_ok(200, s.ATTEMPTS), **_problem(*READ_ERRORS)},
                }
            },
            "/reconciliations": {
                "post": {
                    "operationId": "uploadStatement",
                    "description": "Needs the manage scope. A bank's or payment provider's statement as text/csv "
                    "(default columns id,date,amount,reference,description; positive amounts are money in, "
                    "matched to funds, negative money out, matched to withdrawals), matched to the ledger: "
                    "the same reference (one movement, or several that sum to the line), else the same "
                    "amount (within `tolerance`) on a day within `window_days`. A line imported before (same "
                    "bank id; or day, amount and reference without one) is counted in `duplicates`, not "
                    "imported again. A line that cannot be read: 422 invalid_statement, `errors` naming each "
                    "line and column, nothing imported. Another layout: name its columns "
                    "(`<field>_column`), `save_layout` keeps it by name, `layout` uses a saved one.",
                    "parameters": [
                        _param("currency", "query", {"type": "string", "enum": sorted(MINOR_UNITS)}, required=True),
                        _param("tolerance", "query", s.AMOUNT),
                        _param("window_days", "query", {"type": "integer", "minimum": 0, "maximum": 31}),
                        _param("layout", "query", {"type": "string", "maxLength": 100}),
                        *[_param(f"{f}_column", "query", {"type": "string", "maxLength": 100}) for f in COLUMNS],
                        _param("date_format", "query", {"type": "string", "enum": list(DATE_FORMATS)}),
                        _param("save_layout", "query", {"type": "string", "maxLength": 100}),
                    ],
                    "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
                    "responses": {**_ok(201, s.RECONCILIATION), **_problem(*WRITE_ERRORS)},
                },
                "get": {
                    "operationId": "listReconciliations",
                    "parameters": CURSOR,
                    "responses": {**_ok(200, s.page_of(s.RECONCILIATION_ITEM)), **_problem(*READ_ERRORS)},
                },
            },
            "/reconciliations/{reconciliation_id}": {
                "get": {
                    "operationId": "getReconciliation",
                    "description": "As it stands now: links and posted adjustments since the upload count as "
                    "matched; each list holds the first 1,000 breaks.",
                    "parameters": [ID_PATH("reconciliation_id")],
                    "responses": {**_ok(200, s.RECONCILIATION), **_problem(*READ_ERRORS)},
                }
            },
            "/reconciliations/{reconciliation_id}/breaks.csv": {
                "get": {
                    "operationId": "reconciliationBreaksCsv",
                    "description": "Every break of both sides: the statement's unmatched lines, then the "
                    "ledger's unmatched movements in the statement's days (widened by the window).",
                    "parameters": [ID_PATH("reconciliation_id")],
                    "responses": {
                        "200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                        **_problem(*READ_ERRORS),
                    },
                }
            },
            "/openapi.json": {
                "get": {"operationId": "openapi", "security": [], "responses": _ok(200, {"type": "object"})}
            },
        },
    }
