"""The operation catalogue, the one home of a kind of money movement: how its legs are built,
its label, who may run it, whether it may be held, reversed or posted without a second
person, what reconcile expects of it, and how people and integrations ask for it (its panel
on the wallet page, its fields, its API path). The console's routes and forms, the API's
endpoints, schemas and OpenAPI document, and the engine's parameters are read from here; the
engine checks every rule for every kind alike. docs/DESIGN.md, "Adding an operation kind"."""

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
    parts: tuple[tuple[int, Decimal], ...] = ()  # a split's destinations: (wallet, amount), `amount` their sum


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
class Field:
    """What a person or an integration gives to ask for a kind on one wallet: a field of its
    console form and a property of its API body alike."""

    name: str
    label: str
    type: str = "text"  # amount | text | choice
    required: bool = False
    max_length: int = 500
    choices: tuple[tuple[str, str], ...] = ()  # (value, what people read)


AMOUNT = Field("amount", "Amount", "amount", required=True)
REFERENCE = Field("reference", "Reference")


@dataclass(frozen=True)
class Page:
    """A kind's panel on the wallet page (wallets/<id>/<kind>): its heading, what its review
    and receipt call it, and the partial template that renders its form."""

    title: str
    noun: str
    partial: str = "wallets/_ask_form.html"


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # what people read in history, receipts and CSV
    permission: str  # the console permission that may run it (auth.roles.PERMISSIONS)
    legs: Callable[[Movement], list[Leg]]
    leg_count: int | None  # reconcile: legs of a posted transaction of this kind, its fee leg aside (None: varies)
    fee_payer: int | None = None  # the leg that pays this kind's fee (fee_schedule or the pair's spread)
    reversible: bool = True
    four_eyes: str = "above_threshold"  # or "always" (whatever the amount), "never"
    holdable: bool = False  # may be created pending (a hold), to be captured or voided
    fee_from: str = "fee_schedule"  # or "fx_rates": the pair's spread
    fee_kind: str | None = None  # the fee_schedule row that prices it, when not its own
    page: Page | None = None  # a panel on the wallet page
    # Asked for on one customer wallet with these fields (console and API alike): whether that
    # wallet pays (the source) or receives (the destination), from the values given; the API
    # path under /wallets/{id}/ and the OpenAPI operation.
    fields: tuple[Field, ...] = ()
    pays: Callable[[dict], bool] | None = None
    api_path: str | None = None
    api_operation: str | None = None
    api_doc: str = ""

    @property
    def approvable(self) -> bool:
        return self.four_eyes != "never"


def _fund(m: Movement) -> list[Leg]:
    """Money enters the ledger: world -> wallet."""
    return [Leg(m.amount, "wallet_id", wallet_id=m.dest), Leg(-m.amount, "wallet_id", system="world", like=0)]


def _transfer(m: Movement) -> list[Leg]:
    return [
        Leg(-m.amount, "from_wallet_id", wallet_id=m.source),
        Leg(m.amount, "to_wallet_id", wallet_id=m.dest, like=0),
    ]


def _split(m: Movement) -> list[Leg]:
    """One payer, several payees in its currency (a marketplace paying seller and platform):
    one debit of the sum, a credit per destination, one fee."""
    return [Leg(-m.amount, "from_wallet_id", wallet_id=m.source)] + [
        Leg(amount, f"to[{i}].wallet_id", wallet_id=wallet, like=0) for i, (wallet, amount) in enumerate(m.parts)
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


def _adjustment(m: Movement) -> list[Leg]:
    """An operator's correction against the `adjustments` wallet of the customer wallet's
    currency: a credit pays the customer from it, a debit takes from the customer into it."""
    if m.dest is not None:
        return [Leg(m.amount, "wallet_id", wallet_id=m.dest), Leg(-m.amount, "wallet_id", system="adjustments", like=0)]
    return [Leg(-m.amount, "wallet_id", wallet_id=m.source), Leg(m.amount, "wallet_id", system="adjustments", like=0)]


def _reversal(m: Movement) -> list[Leg]:
    """The original's legs mirrored for `amount` (its fee leg aside), debits first and the
    original's currency first; with `refund_fee`, the fee goes back from `fees` to the wallet
    that paid it. An exchange's legs in its destination currency are converted back by the
    engine at the original's own rate (ledger_legs): the customer gets back what they paid."""
    original = m.original
    fee = Decimal(original["fee"])
    converted = original.get("dest_currency")  # an exchange's; None for a single-currency kind
    mirrored = sorted(
        (e for e in original["entries"] if e["system"] != "fees"),
        key=lambda e: (Decimal(e["amount"]) < 0, e["currency"] == converted),  # the original's credits are our debits
    )
    anchors = {}  # per currency, the first customer leg: the system legs in that currency follow it
    for i, e in enumerate(mirrored):
        if e["system"] is None:
            anchors.setdefault(e["currency"], i)
    if not anchors:  # nothing posted (a hold, a request, voided...): the engine refuses it
        return []
    legs = []
    for i, e in enumerate(mirrored):
        sign = -1 if Decimal(e["amount"]) > 0 else 1
        paid_fee = m.refund_fee and sign > 0 and e["system"] is None and fee > 0
        amount = sign * m.amount + (fee if paid_fee else 0)
        anchor = anchors[e["currency"]]
        legs.append(
            Leg(
                amount,
                "transaction_id",
                wallet_id=e["wallet_id"] if e["system"] is None else None,
                system=e["system"],
                like=None if i == anchor else anchor,
                converted=e["currency"] == converted,
            )
        )
    if m.refund_fee and fee > 0:
        legs.append(Leg(-fee, "refund_fee", system="fees", like=anchors[original["currency"]]))
    return legs


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "fund",
            "Fund",
            "move_money",
            _fund,
            leg_count=2,
            page=Page("Fund this wallet", "deposit"),
            fields=(AMOUNT, REFERENCE),
            pays=lambda values: False,
            api_path="fund",
            api_operation="fundWallet",
        ),
        Kind(
            "transfer",
            "Transfer",
            "move_money",
            _transfer,
            leg_count=2,
            fee_payer=0,
            holdable=True,
            page=Page("Transfer to another wallet", "transfer", "wallets/_transfer_form.html"),
        ),
        Kind(
            "split",
            "Split",
            "move_money",
            _split,
            leg_count=None,  # 1 + its destinations (2 to 100)
            fee_payer=0,
            fee_kind="transfer",  # a split pays a transfer's fee: splitting never costs less
            reversible=False,  # refund a destination with a transfer of its own
        ),
        Kind(
            "exchange",
            "Exchange",
            "move_money",
            _exchange,
            leg_count=4,
            fee_payer=0,
            holdable=True,
            fee_from="fx_rates",
        ),
        Kind(
            "withdrawal",
            "Withdrawal",
            "move_money",
            _withdrawal,
            leg_count=2,
            fee_payer=0,
            page=Page("Pay out of this wallet", "withdrawal"),
            fields=(AMOUNT, REFERENCE),
            pays=lambda values: True,
            api_path="withdrawals",
            api_operation="withdraw",
            api_doc="Refusals (422): insufficient_funds (amount + fee), daily_limit_exceeded, wallet_not_active, "
            "invalid_amount.",
        ),
        Kind(
            "adjustment",
            "Adjustment",
            "reconcile",  # finance clears reconciliation breaks with it
            _adjustment,
            leg_count=2,
            reversible=False,  # corrected by another adjustment, which a second person approves too
            four_eyes="always",  # whatever the amount, whoever asks: never posted by its maker
            page=Page("Adjust this wallet", "adjustment"),
            fields=(
                AMOUNT,
                Field(
                    "direction",
                    "Direction",
                    "choice",
                    required=True,
                    choices=(("credit", "Credit: the wallet receives"), ("debit", "Debit: the wallet pays")),
                ),
                Field("reason", "Reason", required=True),
            ),
            pays=lambda values: values["direction"] == "debit",
            api_path="adjustments",
            api_operation="adjustWallet",
            api_doc="A correction between the wallet and the `adjustments` wallet of its currency, with a "
            "mandatory reason: always 202 awaiting_approval, whoever asks; another owner approves "
            "(POST /transfers/{id}/approve). Not reversible: correct it with another adjustment.",
        ),
        Kind("reversal", "Reversal", "move_money", _reversal, leg_count=2, reversible=False),
    )
}
FEE_KINDS = tuple(
    k.name for k in KINDS.values() if k.fee_payer is not None and k.fee_from == "fee_schedule" and not k.fee_kind
)
PAGE_KINDS = tuple(k for k in KINDS.values() if k.page is not None)  # in the wallet page's order
ASKED = {k.api_path: k for k in KINDS.values() if k.fields}  # POST /api/v1/wallets/{id}/<path>


@dataclass(frozen=True)
class SystemWallet:
    """The ledger's own wallet of a purpose, one per currency (created from here by the engine's
    install step, ledger/functions.py). `unbounded`: its balance may go below zero without
    limit (money that came from outside, or that the house converted)."""

    purpose: str
    label: str
    unbounded: bool = False


SYSTEM_WALLETS = {
    w.purpose: w
    for w in (
        SystemWallet("world", "Money in and out of the ledger", unbounded=True),
        SystemWallet("fees", "Fees earned"),
        SystemWallet("fx", "Currency exchange", unbounded=True),
        SystemWallet("adjustments", "Adjustments", unbounded=True),
    )
}
SYSTEM_PURPOSES = tuple(SYSTEM_WALLETS)


def label(kind: str) -> str:
    entry = KINDS.get(kind)
    return entry.label if entry else kind


# A movement's other side when it is no customer wallet, as history and statements name it.
_OUTSIDE = {"fund": "deposit", "withdrawal": "payout", "split": "several wallets"}


def outside_label(kind: str) -> str:
    return _OUTSIDE.get(kind, "outside the ledger")
