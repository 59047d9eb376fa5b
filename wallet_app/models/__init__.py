"""SQLAlchemy models: the ledger and the people and tokens that act on it."""
from .accounts import ROLES, ApiToken, AuditLog, OperatorSession, User
from .console import ReconcileRun, WalletNote
from .ledger import WALLET_STATUSES, Currency, FeeSchedule, IdempotencyKey, Transaction, Wallet, WalletHistory

__all__ = [
    "ROLES", "WALLET_STATUSES",
    "ApiToken", "AuditLog", "Currency", "FeeSchedule", "OperatorSession", "IdempotencyKey", "Transaction", "User", "Wallet", "WalletHistory",
    "ReconcileRun", "WalletNote",
]
