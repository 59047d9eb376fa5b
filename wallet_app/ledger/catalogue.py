"""The operation catalogue: each kind of money movement, how its legs are built, its label,
who may run it, and what reconcile expects of it. A new kind is an entry here (plus its
pages and endpoints); the engine checks every rule for every kind alike."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Movement:
    """What a caller asked for: `source` and `dest` are customer wallets (None for `world`).
    A reversal carries the transaction it reverses (`original`, as queries.get_transaction
    gives it) and whether it returns that transaction's fee."""

    kind: str
    amount: Decimal
    source: int | None
    dest: int | None
    reference: str | None = None
    reason: str | None = None
    original: dict | None = None
    refund_fee: bool = False
    rate: Decimal | None = None  # the rate an exchange's caller expects: a guard, the house's rate applies


@dataclass(frozen=True)
class Leg:
    """One balance change. A leg names a customer wallet, or the system wallet of a purpose
    in the currency of leg `like`; a customer leg with `like` must share that leg's currency."""

    amount: Decimal  # signed: + credit, - debit
    field: str  # the request field that a refusal about this leg names
    wallet_id: int | None = None
    system: str | None = None
    like: int | None = None
    converted: bool = False  # the amount is the engine's conversion of the movement's amount


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # what people read in history, receipts and CSV
    permission: str  # the console permission that may run it (auth.roles.PERMISSIONS)
    legs: Callable[[Movement], list[Leg]]
    leg_count: int  # reconcile: legs of a posted transaction of this kind, its fee leg aside
    fee_payer: int | None = None  # the leg that pays this kind's fee (fee_schedule or the pair's spread)
    reversible: bool = True
    approvable: bool = True  # above its currency's threshold it waits for a second person
    holdable: bool = False  # may be created pending (a hold), to be captured or voided
    fee_from: str = "fee_schedule"  # or "fx_rates": the pair's spread


def _fund(m: Movement) -> list[Leg]:
    """Money enters the ledger: world -> wallet."""
    return [Leg(m.amount, "wallet_id", wallet_id=m.dest), Leg(-m.amount, "wallet_id", system="world", like=0)]


def _transfer(m: Movement) -> list[Leg]:
    return [
        Leg(-m.amount, "from_wallet_id", wallet_id=m.source),
        Leg(m.amount, "to_wallet_id", wallet_id=m.dest, like=0),
    ]


def _exchange(m: Movement) -> list[Leg]:
    """A transfer between currencies through the `fx` wallets: the source's currency in, the
    destination's out; the engine converts the last two legs at the rate."""
    return [
        Leg(-m.amount, "from_wallet_id", wallet_id=m.source),
        Leg(m.amount, "from_wallet_id", system="fx", like=0),
        Leg(-m.amount, "to_wallet_id", system="fx", like=3, converted=True),
        Leg(m.amount, "to_wallet_id", wallet_id=m.dest, converted=True),
    ]


def _withdrawal(m: Movement) -> list[Leg]:
    """Money leaves the ledger: wallet -> world."""
    return [Leg(-m.amount, "wallet_id", wallet_id=m.source), Leg(m.amount, "wallet_id", system="world", like=0)]


def _reversal(m: Movement) -> list[Leg]:
    """The original's legs mirrored for `amount` (its fee leg aside), debits first; with
    `refund_fee`, the fee goes back from `fees` to the wallet that paid it."""
    original = m.original
    fee = Decimal(original["fee"])
    mirrored = sorted(
        (e for e in original["entries"] if e["system"] != "fees"), key=lambda e: Decimal(e["amount"]) < 0
    )  # the original's credits are our debits
    anchor = next((i for i, e in enumerate(mirrored) if e["system"] is None), None)
    if anchor is None:  # nothing posted (a hold, a request, voided...): the engine refuses it
        return []
    legs = []
    for e in mirrored:
        sign = -1 if Decimal(e["amount"]) > 0 else 1
        paid_fee = m.refund_fee and sign > 0 and e["system"] is None and fee > 0
        amount = sign * m.amount + (fee if paid_fee else 0)
        if e["system"] is None:
            legs.append(
                Leg(amount, "transaction_id", wallet_id=e["wallet_id"], like=None if len(legs) == anchor else anchor)
            )
        else:
            legs.append(Leg(amount, "transaction_id", system=e["system"], like=anchor))
    if m.refund_fee and fee > 0:
        legs.append(Leg(-fee, "refund_fee", system="fees", like=anchor))
    return legs


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("fund", "Fund", "move_money", _fund, leg_count=2),
        Kind("transfer", "Transfer", "move_money", _transfer, leg_count=2, fee_payer=0, holdable=True),
        Kind(
            "exchange",
            "Exchange",
            "move_money",
            _exchange,
            leg_count=4,
            fee_payer=0,
            reversible=False,
            holdable=True,
            fee_from="fx_rates",
        ),
        Kind("withdrawal", "Withdrawal", "move_money", _withdrawal, leg_count=2, fee_payer=0),
        Kind("reversal", "Reversal", "move_money", _reversal, leg_count=2, reversible=False),
    )
}
FEE_KINDS = tuple(k.name for k in KINDS.values() if k.fee_payer is not None and k.fee_from == "fee_schedule")
SYSTEM_PURPOSES = ("world", "fees", "fx")


def label(kind: str) -> str:
    entry = KINDS.get(kind)
    return entry.label if entry else kind
