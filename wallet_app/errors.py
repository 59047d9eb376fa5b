"""Domain errors: one taxonomy, each with a stable code the web and the API both show."""


class WalletError(Exception):
    """Base of every rule a wallet operation can break.

    `code` is stable (clients branch on it); `field` names the input at fault so the
    web layer can put the message next to it and the API can list it in `errors`.
    """

    code = "wallet_error"
    status = 422

    def __init__(self, message: str, *, field: str | None = None, **details):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class InvalidAmount(WalletError):
    code = "invalid_amount"


class InvalidInput(WalletError):
    code = "invalid_input"


class InsufficientFunds(WalletError):
    code = "insufficient_funds"


class BalanceLimitExceeded(WalletError):
    code = "balance_limit_exceeded"


class CurrencyMismatch(WalletError):
    code = "currency_mismatch"


class WalletNotActive(WalletError):
    code = "wallet_not_active"


class SameWallet(WalletError):
    code = "same_wallet"


class NotFound(WalletError):
    code = "not_found"
    status = 404


class IdempotencyKeyReused(WalletError):
    code = "idempotency_key_reused"


class MaxBalanceExceeded(WalletError):
    code = "max_balance_exceeded"


class DailyLimitExceeded(WalletError):
    code = "daily_limit_exceeded"


class ReversalExceedsOriginal(WalletError):
    code = "reversal_exceeds_original"


class NotReversible(WalletError):
    code = "not_reversible"


class FeeAlreadyRefunded(WalletError):
    code = "fee_already_refunded"


class BalanceNotZero(WalletError):
    code = "balance_not_zero"


class WalletClosed(WalletError):
    code = "wallet_closed"


class HoldNotPending(WalletError):
    code = "hold_not_pending"


class NotAwaitingApproval(WalletError):
    code = "not_awaiting_approval"


class MakerCannotApprove(WalletError):
    code = "maker_cannot_approve"
    status = 403


class CaptureExceedsHold(WalletError):
    code = "capture_exceeds_hold"


class RateStale(WalletError):
    code = "rate_stale"


class RateMismatch(WalletError):
    """The caller's expected rate is further from the house's than the pair's tolerance."""

    code = "rate_mismatch"


class KindNotReversible(WalletError):
    """The catalogue marks the original's kind not reversible (an adjustment, a reversal)."""

    code = "kind_not_reversible"


class KindNotHoldable(WalletError):
    """Only a kind the catalogue marks holdable may be created pending."""

    code = "kind_not_holdable"


class NotHoldMaker(WalletError):
    """Only the person or integration that made a hold captures or voids it."""

    code = "not_hold_maker"
    status = 403


class HoldsOpen(WalletError):
    """A wallet with open holds or approval requests (either side) cannot be closed."""

    code = "holds_open"


class TokenNotLive(WalletError):
    """The API token a movement was made with was revoked (or never existed): checked by the
    engine in the movement's own statement, answered 401 like any bad token."""

    code = "unauthorized"
    status = 401


class BatchRefused(WalletError):
    """An atomic batch with a refused item posts nothing; `errors` names every refused item."""

    code = "batch_refused"


class BatchTooLarge(WalletError):
    code = "batch_too_large"
    status = 413


class InvalidStatement(WalletError):
    """A bank statement that cannot be read: `errors` names each bad line and column (the
    first 20); nothing of the file is imported."""

    code = "invalid_statement"
