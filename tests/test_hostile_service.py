"""Hostile input at the service layer: every field refused with its name, nothing written."""

import uuid

import pytest

from tests.hostile import BAD_AMOUNT_VALUES, BAD_AMOUNTS, BAD_IDS, BAD_KEYS, CONTROL_NAMES, HOSTILE_NAMES
from wallet_app.errors import WalletError


@pytest.fixture
def pair(make_wallet):
    return make_wallet(balance="100.00"), make_wallet()


def test_bad_amounts_ids_and_keys_are_refused_naming_the_field(service, actor, pair, ledger_snapshot):
    a, b = pair
    before = ledger_snapshot()
    cases = [(dict(amount=x), "amount") for x in BAD_AMOUNTS + BAD_AMOUNT_VALUES]
    cases += [(dict(from_wallet_id=x), "from_wallet_id") for x in BAD_IDS]
    cases += [(dict(to_wallet_id=x), "to_wallet_id") for x in BAD_IDS]
    cases += [(dict(idempotency_key=x), "idempotency_key") for x in BAD_KEYS]
    for override, field in cases:
        args = {
            "from_wallet_id": a["id"],
            "to_wallet_id": b["id"],
            "amount": "1.00",
            "idempotency_key": str(uuid.uuid4()),
            **override,
        }
        with pytest.raises(WalletError) as err:
            service.transfer(
                args.pop("from_wallet_id"), args.pop("to_wallet_id"), args.pop("amount"), actor=actor, **args
            )
        assert err.value.field == field, (override, err.value)
        assert err.value.status < 500
    assert ledger_snapshot() == before


def test_hostile_names_are_stored_verbatim_and_found_by_search(service, actor):
    for name in HOSTILE_NAMES:
        wallet = service.create_wallet(name, "USD", actor=actor)
        assert service.get_wallet(wallet["id"])["owner_name"] == name
        assert wallet["id"] in [w["id"] for w in service.list_wallets(name[:10]).items]


def test_control_characters_and_oversized_text_are_refused(service, actor, ledger_snapshot):
    before = ledger_snapshot()
    for kwargs, field in [(dict(owner_name=n, currency="USD"), "owner_name") for n in CONTROL_NAMES] + [
        (dict(owner_name="x" * 201, currency="USD"), "owner_name"),
        (dict(owner_name="ok", currency="usd"), "currency"),
        (dict(owner_name="ok", currency="XXX"), "currency"),
        (dict(owner_name="ok", currency="USD", owner_email="not-an-email"), "owner_email"),
        (dict(owner_name="ok", currency="USD", external_ref="r" * 101), "external_ref"),
    ]:
        with pytest.raises(WalletError) as err:
            service.create_wallet(actor=actor, **kwargs)
        assert err.value.field == field
    assert ledger_snapshot() == before
