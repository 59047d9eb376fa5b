"""Webhook endpoints: where events go (admins in the console, `manage` tokens in the API), each
with the secret its deliveries are signed with (Standard Webhooks), shown once when made or
rotated. A rotated secret keeps signing beside the new one for a day, so a receiver can
switch without losing a delivery."""

import base64
import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select, text

from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ..models.events import public_id
from ..models.types import utcnow
from ..services import audit, validate
from ..services.atomic import atomic
from ..services.audit import Actor
from ..services.serialize import iso
from .delivery import public_address
from .feed import TYPES

SECRET_GRACE = timedelta(days=1)
TEST_TYPE = "webhook.test"
EVENT_ID = re.compile(r"evt_[1-9][0-9]{0,17}")
MAX_REDELIVER = 100_000  # events queued again by one request


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def endpoint_dict(ep: WebhookEndpoint, *, secret: bool = False) -> dict:
    found = {
        "id": ep.id,
        "url": ep.url,
        "event_types": list(ep.event_types),
        "enabled": ep.enabled,
        "disabled_reason": ep.disabled_reason,
        "created_by": ep.created_by,
        "created_at": iso(ep.created_at),
        "updated_at": iso(ep.updated_at),
    }
    if secret:
        found["secret"] = ep.secret
    return found


def check_url(url) -> str:
    """An https URL with a host (http, and hosts on private or loopback addresses, only with
    WEBHOOK_ALLOW_PRIVATE: tests and local runs). Delivery checks every address a name
    resolves to again, at each attempt."""
    url = validate.text(url, "url", 2000, required=True)
    if not url.isascii() or any(c.isspace() for c in url):
        raise InvalidInput("Write the URL in ASCII, without spaces (percent-encode the rest).", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise InvalidInput("The URL cannot be read as one.", field="url") from None
    allowed = current_app.config["WEBHOOK_ALLOW_PRIVATE"]
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput("The URL is https:// with a host.", field="url")
    if parts.scheme == "http" and not allowed:
        raise InvalidInput("The URL is https://: events carry names and balances.", field="url")
    if parts.username or parts.password:
        raise InvalidInput("The URL carries no user name or password.", field="url")
    if not allowed and not public_host(parts.hostname):
        raise InvalidInput("The URL's host is a private or loopback address.", field="url")
    return url


def public_host(host: str) -> bool:
    """False for 'localhost' and for an address that is not on the public internet."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return False
    try:
        return public_address(host.strip("[]"))
    except ValueError:
        return True  # a name: checked at delivery, on every address it resolves to


def check_types(types) -> list[str]:
    if types is None:
        return []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise InvalidInput("event_types is a list of event types.", field="event_types")
    unknown = sorted(set(types) - set(TYPES))
    if unknown:
        raise InvalidInput(f"Unknown event type {unknown[0]!r}.", field="event_types")
    return sorted(set(types))


def _get(s, endpoint_id, lock: bool = False) -> WebhookEndpoint:
    endpoint_id = validate.wallet_id(endpoint_id, "endpoint_id")
    ep = s.get(WebhookEndpoint, endpoint_id, with_for_update=lock)
    if ep is None or ep.deleted_at is not None:
        raise NotFound(f"Webhook endpoint {endpoint_id} does not exist.", field="endpoint_id")
    return ep


def create(url, event_types=None, enabled=True, *, actor: Actor) -> dict:
    """A new endpoint; the answer is the only one that shows its secret."""
    url, types = check_url(url), check_types(event_types)
    if not isinstance(enabled, bool):
        raise InvalidInput("enabled is true or false.", field="enabled")

    def op(s) -> dict:
        ep = WebhookEndpoint(url=url, event_types=types, enabled=enabled, secret=new_secret(), created_by=actor.name)
        s.add(ep)
        s.flush()
        audit.record(s, actor, "webhook.create", "webhook_endpoint", ep.id, url=url, event_types=types)
        return endpoint_dict(ep, secret=True)

    return atomic(db.session, op)


def get(endpoint_id) -> dict:
    return endpoint_dict(_get(db.session, endpoint_id))


def list_endpoints() -> list[dict]:
    rows = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None)).order_by(WebhookEndpoint.id)
    )
    return [endpoint_dict(ep) for ep in rows]


def update(endpoint_id, *, actor: Actor, **changes) -> dict:
    """Change the URL, the event types or whether it is enabled (enabling clears why it was
    disabled; events meanwhile were not queued for it: redeliver them)."""
    checked = {}
    if "url" in changes:
        checked["url"] = check_url(changes["url"])
    if "event_types" in changes:
        checked["event_types"] = check_types(changes["event_types"])
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise InvalidInput("enabled is true or false.", field="enabled")
        checked["enabled"] = changes["enabled"]
    if not checked:
        raise InvalidInput("Give url, event_types or enabled.", field="url")

    def op(s) -> dict:
        ep = _get(s, endpoint_id, lock=True)
        before = {k: getattr(ep, k) for k in checked}
        for k, v in checked.items():
            setattr(ep, k, v)
        if checked.get("enabled"):
            ep.disabled_reason = None
        ep.updated_at = utcnow()
        audit.record(s, actor, "webhook.update", "webhook_endpoint", ep.id, before=before, after=checked)
        return endpoint_dict(ep)

    return atomic(db.session, op)


def delete(endpoint_id, *, actor: Actor) -> None:
    """Gone from lists and from every later fan-out; what it was still owed fails."""

    def op(s) -> None:
        ep = _get(s, endpoint_id, lock=True)
        ep.deleted_at, ep.enabled = utcnow(), False
        s.execute(
            text(
                "UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint deleted', lease_until = NULL "
                "WHERE endpoint_id = :id AND status = 'pending'"
            ),
            {"id": ep.id},
        )
        audit.record(s, actor, "webhook.delete", "webhook_endpoint", ep.id, url=ep.url)

    atomic(db.session, op)


def rotate_secret(endpoint_id, *, actor: Actor) -> dict:
    """A new secret (shown in this answer only); the old one signs beside it for SECRET_GRACE.
    Not again during that grace: a second rotation would drop the secret receivers still use."""

    def op(s) -> dict:
        ep = _get(s, endpoint_id, lock=True)
        if ep.previous_secret_until and ep.previous_secret_until > utcnow():
            raise InvalidInput(
                f"The secret was rotated less than a day ago: the one before still signs until "
                f"{ep.previous_secret_until:%Y-%m-%d %H:%M} UTC. Rotate again after that.",
                field="endpoint_id",
            )
        ep.previous_secret, ep.previous_secret_until = ep.secret, utcnow() + SECRET_GRACE
        ep.secret, ep.updated_at = new_secret(), utcnow()
        audit.record(s, actor, "webhook.rotate_secret", "webhook_endpoint", ep.id)
        return endpoint_dict(ep, secret=True)

    return atomic(db.session, op)


def send_test(endpoint_id, *, actor: Actor) -> dict:
    """A `webhook.test` event for this endpoint alone. Numbered below zero (minus its id), it
    never enters the feed nor another endpoint's queue."""

    def op(s) -> dict:
        ep = _get(s, endpoint_id)
        event = Event(type=TEST_TYPE, object_type="endpoint", object_id=ep.id, wallet_ids=[])
        s.add(event)
        s.flush()
        event.seq, event.sequenced_at = -event.id, utcnow()
        event.data = {"endpoint_id": ep.id, "message": "A test event from the wallet console."}
        s.add(WebhookDelivery(endpoint_id=ep.id, event_id=event.id, seq=-event.id, status="pending"))
        audit.record(s, actor, "webhook.test", "webhook_endpoint", ep.id)
        s.flush()
        return {"event_id": public_id(event.id)}

    return atomic(db.session, op)


def redeliver(endpoint_id, *, actor: Actor, event_id=None, since=None) -> int:
    """Queue again one event (by its evt_ id) or every event of the endpoint's types since a
    moment, in sequence order, each under its own webhook-id: how many."""
    if (event_id is None) == (since is None):
        raise InvalidInput("Give an event or a moment to redeliver from.", field="event_id")
    if event_id is not None and not (isinstance(event_id, str) and EVENT_ID.fullmatch(event_id)):
        raise InvalidInput("An event's id is evt_ and its number, such as evt_1042.", field="event_id")

    def op(s) -> int:
        ep = _get(s, endpoint_id)
        where = "e.id = :event" if event_id is not None else "e.created_at >= :since"
        types = "" if not ep.event_types else "AND e.type = ANY (:types) "
        n = s.execute(
            text(
                "INSERT INTO webhook_deliveries (endpoint_id, event_id, seq, status) "
                f"SELECT :ep, e.id, e.seq, 'pending' FROM events e WHERE e.seq > 0 AND {where} {types}"
                "ORDER BY e.seq LIMIT :cap"
            ),
            {
                "ep": ep.id,
                "event": event_id and int(event_id[4:]),
                "since": since,
                "types": list(ep.event_types),
                "cap": MAX_REDELIVER + 1,
            },
        ).rowcount
        if n > MAX_REDELIVER:
            raise InvalidInput(f"More than {MAX_REDELIVER:,} events since then: choose a later moment.", field="since")
        if event_id is not None and n == 0:
            raise NotFound(f"Event {event_id} does not exist.", field="event_id")
        audit.record(
            s, actor, "webhook.redeliver", "webhook_endpoint", ep.id, event_id=event_id, since=iso(since), events=n
        )
        return n

    return atomic(db.session, op)


def attempts(endpoint_id, limit: int = 50) -> list[dict]:
    """The endpoint's latest attempts, newest first: when, the event, the answer's code and
    first bytes (or what went wrong)."""
    ep = _get(db.session, endpoint_id)
    rows = db.session.execute(
        select(
            WebhookAttempt.attempted_at,
            WebhookAttempt.code,
            WebhookAttempt.error,
            WebhookAttempt.body_head,
            WebhookAttempt.duration_ms,
            WebhookDelivery.status,
            WebhookDelivery.attempts,
            Event.id.label("event_id"),
            Event.type,
        )
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == ep.id)
        .order_by(WebhookAttempt.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": iso(r.attempted_at),
            "event_id": public_id(r.event_id),
            "type": r.type,
            "code": r.code,
            "error": r.error,
            "body": r.body_head,
            "ms": r.duration_ms,
            "delivery": r.status,
        }
        for r in rows
    ]


def disabled() -> list[dict]:
    """Endpoints the worker turned off after failing for long: the console tells admins."""
    rows = db.session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.deleted_at.is_(None),
            WebhookEndpoint.enabled.is_(False),
            WebhookEndpoint.disabled_reason.is_not(None),
        )
    )
    return [endpoint_dict(ep) for ep in rows]


def backlog() -> int:
    return db.session.scalar(select(func.count()).where(WebhookDelivery.status == "pending"))
