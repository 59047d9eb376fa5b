"""SQLAlchemy models: the ledger and the people and tokens that act on it."""

from .accounts import ROLES, ApiToken, AuditLog, Integration, OperatorSession, User
from .bank import BankLayout, BankLine, BankMatch, BankReconciliation
from .console import ReconcileRun, WalletNote
from .events import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .ledger import (
    TRANSACTION_STATUSES,
    WALLET_STATUSES,
    ApprovalThreshold,
    Batch,
    BatchItem,
    Currency,
    FeeSchedule,
    FxRate,
    FxRateHistory,
    IdempotencyKey,
    LedgerSettings,
    Transaction,
    Wallet,
    WalletFlow,
    WalletHistory,
)

__all__ = [
    "ROLES",
    "WALLET_STATUSES",
    "TRANSACTION_STATUSES",
    "ApprovalThreshold",
    "Batch",
    "BatchItem",
    "FxRate",
    "ApiToken",
    "AuditLog",
    "Currency",
    "FeeSchedule",
    "OperatorSession",
    "IdempotencyKey",
    "Transaction",
    "User",
    "Wallet",
    "WalletHistory",
    "ReconcileRun",
    "WalletNote",
    "Integration",
    "FxRateHistory",
    "LedgerSettings",
    "WalletFlow",
    "Event",
    "WebhookEndpoint",
    "WebhookDelivery",
    "WebhookAttempt",
    "BankLayout",
    "BankReconciliation",
    "BankLine",
    "BankMatch",
]
