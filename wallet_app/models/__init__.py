"""SQLAlchemy models: the ledger and the people and tokens that act on it."""
from .accounts import ROLES, ApiToken, AuditLog, User
from .ledger import TRANSACTION_KINDS, WALLET_STATUSES, IdempotencyKey, Transaction, Wallet, WalletHistory

__all__ = [
    "ROLES", "TRANSACTION_KINDS", "WALLET_STATUSES",
    "ApiToken", "AuditLog", "IdempotencyKey", "Transaction", "User", "Wallet", "WalletHistory",
]
