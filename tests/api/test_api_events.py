"""Events: written with their change and only then, numbered into the feed in commit order,
read back as the API answers each object; balance alerts at the crossing only."""

import uuid

from sqlalchemy import text

from wallet_app.events import feed
from wallet_app.extensions import db


def events_of(session, object_type, object_id) -> list[str]:
    return session.scalars(
        text("SELECT type FROM events WHERE object_type = :t AND object_id = :i ORDER BY id"),
        {"t": object_type, "i": object_id},
    ).all()


def all_types(session) -> list[str]:
    return session.scalars(text("SELECT type FROM events ORDER BY id")).all()


def test_an_event_exists_exactly_when_its_change_committed(session, api, funded):
    a, b = funded
    before = session.scalar(text("SELECT count(*) FROM events"))
    posted = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "10.00"}, key="t1")
    assert posted.status_code == 201
    assert events_of(session, "transaction", posted.json["id"]) == ["transaction.posted"]
    assert session.scalar(text("SELECT count(*) FROM events")) == before + 1

    # Refused by the engine (more than the wallet has): nothing changed, no event.
    refused = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "1000.00"}, key="t2")
    assert refused.status_code == 422
    # An atomic batch refused at its last item rolls back whole: its first item's movement and
    # its events with it.
    batch = api.post(
        "/batches",
        {
            "mode": "atomic",
            "items": [
                {"kind": "transfer", "from_wallet_id": a, "to_wallet_id": b, "amount": "1.00"},
                {"kind": "transfer", "from_wallet_id": b, "to_wallet_id": a, "amount": "5000.00"},
            ],
        },
        key="b1",
    )
    assert batch.status_code == 422
    assert session.scalar(text("SELECT count(*) FROM events")) == before + 1


def test_the_feed_numbers_committed_events_and_answers_each_object_as_the_api_does(session, api, funded):
    a, b = funded
    t = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "2.50"}, key="f1").json
    assert feed.sequence() >= 4  # two wallets made, one funded, one transfer
    page = api.get("/events?limit=500").json
    types = [e["type"] for e in page["data"]]
    assert types[-4:] == ["wallet.created", "wallet.created", "transaction.posted", "transaction.posted"]
    seqs = [e["sequence"] for e in page["data"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    last = page["data"][-1]
    assert last["id"].startswith("evt_")
    assert last["data"] == api.get(f"/transactions/{t['id']}").json  # the object as the API answers it
    wallet_event = page["data"][-4]
    assert wallet_event["data"]["id"] == a and wallet_event["data"]["currency"] == "USD"

    # `after`: the next page starts past it; nothing new, nothing listed.
    assert api.get(f"/events?after={page['next_after']}").json == {"data": [], "next_after": page["next_after"]}
    assert [e["type"] for e in api.get(f"/events?after={seqs[-3]}").json["data"]] == types[-2:]
    only = api.get("/events?types=wallet.created&limit=500").json["data"]
    assert only and {e["type"] for e in only} == {"wallet.created"}

    bad = api.get("/events?types=transaction.posted,nope")
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "types"
    assert api.get("/events?after=-1").status_code == 422
    assert api.get("/events?limit=501").json["errors"][0]["field"] == "limit"


def test_an_event_committed_late_is_numbered_after_those_already_read(committing_app):
    """Ids are taken before commit; numbers after it: a reader never finds a smaller number
    appear behind one it has seen."""
    from wallet_app.ledger import operations
    from wallet_app.services.audit import Actor

    actor = Actor(scope="cli", name="cli")
    with committing_app.app_context():
        w = operations.create_wallet("Early", "USD", actor=actor)
        feed.sequence()
        late = db.engine.connect()
        tx = late.begin()
        late.execute(text("UPDATE wallets SET owner_name = 'Late' WHERE id = :id"), {"id": w["id"]})  # id taken now
        operations.create_wallet("Second", "USD", actor=actor)  # a later id, committed first
        feed.sequence()
        seen = db.session.scalar(text("SELECT max(seq) FROM events"))
        tx.commit()
        late.close()
        feed.sequence()
        row = db.session.execute(
            text("SELECT id, seq FROM events WHERE type = 'wallet.updated' AND object_id = :id"), {"id": w["id"]}
        ).one()
        second = db.session.execute(
            text("SELECT id, seq FROM events WHERE type = 'wallet.created' ORDER BY id DESC LIMIT 1")
        ).one()
        assert row.id < second.id and row.seq > seen >= second.seq
        db.session.remove()


def test_a_hold_and_a_reversal_write_their_events(session, api, funded):
    a, b = funded
    hold = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "3.00", "pending": True}, key="h")
    assert hold.status_code == 201, hold.json
    api.post(f"/transfers/{hold.json['id']}/capture", {}, key="c")
    assert events_of(session, "transaction", hold.json["id"]) == ["transaction.pending", "transaction.captured"]
    other = api.post(
        "/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "4.00", "pending": True}, key="h2"
    )
    api.post(f"/transfers/{other.json['id']}/void", {}, key="v")
    assert events_of(session, "transaction", other.json["id"]) == ["transaction.pending", "transaction.voided"]
    t = api.post("/transfers", {"from_wallet_id": a, "to_wallet_id": b, "amount": "5.00"}, key="t").json
    r = api.post(f"/transactions/{t['id']}/reversals", {"reason": "mistake"}, key="r")
    assert r.status_code == 201, r.json
    assert events_of(session, "transaction", t["id"]) == ["transaction.posted", "transaction.reversed"]
    assert events_of(session, "transaction", r.json["id"]) == ["transaction.posted"]


def test_balance_alerts_fire_once_at_each_crossing(session, make_token, client, funded):
    """Down across the line, about below it, up across it, down again: exactly two alerts."""
    from tests.api.conftest import Api

    _, secret = make_token("read,write,manage")
    api = Api(client, secret)
    a, b = funded  # a holds 100.00
    set_line = client.patch(
        f"/api/v1/wallets/{a}", json={"alert_below": "50.00"}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert set_line.status_code == 200 and set_line.json["alert_below"] == "50.00"

    def pay(amount, src=a, dst=b):
        r = api.post(
            "/transfers", {"from_wallet_id": src, "to_wallet_id": dst, "amount": amount}, key=str(uuid.uuid4())
        )
        assert r.status_code == 201, r.json

    pay("60.00")  # 40: crossed down
    pay("5.00")  # 35: still below
    pay("30.00", src=b, dst=a)  # 65: back up
    pay("10.00")  # 55: above, no crossing
    pay("20.00")  # 35: crossed down again
    alerts = (
        session.execute(
            text("SELECT data FROM events WHERE type = 'balance.alert' AND object_id = :a ORDER BY id"), {"a": a}
        )
        .scalars()
        .all()
    )
    assert [(x["direction"], x["previous"], x["available"]) for x in alerts] == [
        ("below", "100.0000", "40.0000"),
        ("below", "55.0000", "35.0000"),
    ]
    feed.sequence()
    seen = [e["data"] for e in api.get("/events?types=balance.alert").json["data"] if e["data"]["wallet_id"] == a]
    assert seen[-1] == {
        "wallet_id": a,
        "currency": "USD",
        "direction": "below",
        "line": "50.00",
        "available": "35.00",
        "previous": "55.00",
    }
    bad = client.patch(
        f"/api/v1/wallets/{a}",
        json={"alert_above": "10.00"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "alert_above"
