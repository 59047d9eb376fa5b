"""The operation catalogue: each kind of money movement, how its legs are built, its label,
who may run it, and what reconcile expects of it. A new kind is an entry here (plus its
pages and endpoints); the engine checks every rule for every kind alike."""
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Movement:
    """What a caller asked for: `source` and `dest` are customer wallets (None for `world`)."""

    kind: str
    amount: Decimal
    source: int | None
    dest: int | None
    reference: str | None = None


@dataclass(frozen=True)
class Leg:
    """One balance change. A leg names a customer wallet, or the system wallet of a purpose
    in the currency of leg `like`; a customer leg with `like` must share that leg's currency."""

    amount: Decimal  # signed: + credit, - debit
    field: str  # the request field that a refusal about this leg names
    wallet_id: int | None = None
    system: str | None = None
    like: int | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # what people read in history, receipts and CSV
    permission: str  # the console permission that may run it (auth.roles.PERMISSIONS)
    legs: Callable[[Movement], list[Leg]]
    leg_count: int  # reconcile: every posted transaction of this kind has this many legs


def _fund(m: Movement) -> list[Leg]:
    """Money enters the ledger: world -> wallet."""
    return [Leg(m.amount, "wallet_id", wallet_id=m.dest),
            Leg(-m.amount, "wallet_id", system="world", like=0)]


def _transfer(m: Movement) -> list[Leg]:
    return [Leg(-m.amount, "from_wallet_id", wallet_id=m.source),
            Leg(m.amount, "to_wallet_id", wallet_id=m.dest, like=0)]


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("fund", "Fund", "move_money", _fund, leg_count=2),
    Kind("transfer", "Transfer", "move_money", _transfer, leg_count=2),
)}
SYSTEM_PURPOSES = ("world", "fees")


def label(kind: str) -> str:
    entry = KINDS.get(kind)
    return entry.label if entry else kind
