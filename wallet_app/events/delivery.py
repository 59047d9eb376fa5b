"""Webhook deliveries: claimed by a worker under a short lease, sent signed (Standard Webhooks),
recorded with every attempt, retried with exponential backoff and jitter until a 2xx answer.

Order: a delivery waits while an earlier one (lower `seq`) of the same endpoint touching one of
its wallets is still pending, so an endpoint sees each wallet's events in sequence order; other
wallets' events go on (within the head of its queue: its first 100 pending deliveries). At most
once at a time: a claim is a lease (the attempt's timeout and a margin), and an outcome is
written only by the lease's holder. A worker
killed mid-attempt loses nothing: its lease ends within seconds and another worker retries,
under the same `webhook-id` (the event's id), as on every retry.
"""

import http.client
import ipaddress
import json
import random
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from ..extensions import db
from ..services import audit
from ..services.audit import Actor
from ..services.serialize import iso

LEASE_MARGIN_S = 5
WORKER = Actor(scope="worker", name="worker")

# The head of each endpoint's queue (its first HEAD pending deliveries in sequence order; any
# earlier pending delivery of a candidate is in it), and of it what is due, not leased, and the
# first for each of its wallets (one window over the head's (delivery, wallet) pairs: no
# pairwise comparison). The update checks the lease again: of two workers that chose the same delivery,
# the second finds it leased and skips it.
HEAD = 100
_CLAIM = text("""
    WITH head AS (
        SELECT d.id, d.endpoint_id, d.seq, d.next_attempt_at, d.lease_until, e.wallet_ids
        FROM webhook_endpoints ep
        CROSS JOIN LATERAL (SELECT q.id, q.endpoint_id, q.seq, q.next_attempt_at, q.lease_until, q.event_id
                            FROM webhook_deliveries q
                            WHERE q.endpoint_id = ep.id AND q.status = 'pending'
                            ORDER BY q.seq LIMIT :head) d
        JOIN events e ON e.id = d.event_id
        WHERE ep.enabled AND ep.deleted_at IS NULL  -- a disabled endpoint's deliveries wait, in order
    ), firsts AS (  -- each delivery that is the head's first for every wallet it touches
        SELECT p.id
        FROM (SELECT h.id, h.seq, min(h.seq) OVER (PARTITION BY h.endpoint_id, w.wallet_id) AS first
              FROM head h CROSS JOIN LATERAL unnest(h.wallet_ids) w (wallet_id)) p
        GROUP BY p.id
        HAVING bool_and(p.seq = p.first)
    ), due AS (
        SELECT h.id FROM head h
        WHERE h.next_attempt_at <= now() AND (h.lease_until IS NULL OR h.lease_until < now())
          AND (cardinality(h.wallet_ids) = 0 OR h.id IN (SELECT f.id FROM firsts f))
        ORDER BY h.seq
        LIMIT :n
    ), mine AS (  -- locked in id order, skipping what another worker is claiming this moment
        SELECT d.id FROM webhook_deliveries d WHERE d.id IN (SELECT due.id FROM due)
        ORDER BY d.id FOR UPDATE SKIP LOCKED)
    -- An attempt that dies without recording anything still waits its backoff before the next.
    UPDATE webhook_deliveries d
    SET lease_until = clock_timestamp() + make_interval(secs => :lease), attempts = d.attempts + 1,
        first_attempt_at = coalesce(d.first_attempt_at, clock_timestamp()),
        next_attempt_at = clock_timestamp()
                          + make_interval(secs => :lease + least(:base * power(2, least(d.attempts, 30)), 86400))
    FROM mine, events e, webhook_endpoints ep
    WHERE d.id = mine.id AND e.id = d.event_id AND ep.id = d.endpoint_id
      AND d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until < now())
      AND ep.enabled AND ep.deleted_at IS NULL
    RETURNING d.id, d.endpoint_id, d.attempts, d.first_attempt_at, d.lease_until, ep.url, ep.secret,
              ep.previous_secret, ep.previous_secret_until, 'evt_' || e.id AS public_id, e.type, e.seq,
              e.created_at AS event_created_at, e.data""")
_RECORD = text("""
    UPDATE webhook_deliveries
    SET status = CAST(:status AS text), lease_until = NULL, next_attempt_at = :next, last_code = :code,
        last_error = :error, delivered_at = CASE WHEN CAST(:status AS text) = 'delivered' THEN now() END
    WHERE id = :id AND lease_until = :lease""")
_ATTEMPT = text("""
    INSERT INTO webhook_attempts (delivery_id, code, error, body_head, duration_ms)
    VALUES (:id, :code, :error, :body, :ms)""")
_DISABLE = text("""
    UPDATE webhook_endpoints SET enabled = false, disabled_reason = :reason, updated_at = now()
    WHERE id = :id AND enabled""")


@dataclass
class Answer:
    code: int | None
    body: str | None
    error: str | None
    ms: int


def claim(limit: int) -> list:
    """Up to `limit` due deliveries, leased to this worker (committed at once)."""
    lease = current_app.config["WEBHOOK_TIMEOUT_S"] + LEASE_MARGIN_S
    try:
        rows = db.session.execute(
            _CLAIM, {"n": limit, "lease": lease, "head": HEAD, "base": current_app.config["WEBHOOK_RETRY_BASE_S"]}
        ).all()
        db.session.commit()
        return rows
    finally:
        db.session.rollback()


def body_of(d) -> bytes:
    """The event as the feed carries it, the same bytes on every attempt."""
    envelope = {
        "id": d.public_id,
        "type": d.type,
        "sequence": d.seq if d.seq > 0 else None,
        "created_at": iso(d.event_created_at),
        "data": d.data,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def headers_of(d, body: bytes, now: datetime) -> dict:
    """Standard Webhooks' headers: one signature per live secret (a rotated one signs beside
    the new one until its grace ends)."""
    secrets_ = [d.secret]
    if d.previous_secret and d.previous_secret_until and d.previous_secret_until > now:
        secrets_.append(d.previous_secret)
    return {
        "Content-Type": "application/json",
        "User-Agent": "wallet-webhooks/1",
        "webhook-id": d.public_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(d.public_id, now, body) for s in secrets_),
    }


def attempt(d) -> Answer:
    """Send one claimed delivery and record what happened (if the lease is still ours)."""
    config = current_app.config
    now = datetime.now(timezone.utc)
    body = body_of(d)
    answer = send(
        d.url,
        body,
        headers_of(d, body, now),
        timeout=config["WEBHOOK_TIMEOUT_S"],
        max_bytes=config["WEBHOOK_MAX_ANSWER_BYTES"],
        allow_private=config["WEBHOOK_ALLOW_PRIVATE"],
    )
    ok = answer.code is not None and 200 <= answer.code < 300
    # Retried for WEBHOOK_RETRY_FOR_S from its first attempt (not from when it was queued: it
    # may have waited behind its wallet's earlier events); the last retry at that end.
    ends = d.first_attempt_at + timedelta(seconds=config["WEBHOOK_RETRY_FOR_S"])
    gives_up = not ok and now >= ends
    retry_at = min(now + timedelta(seconds=backoff(d.attempts, config["WEBHOOK_RETRY_BASE_S"])), ends)
    status = "delivered" if ok else "failed" if gives_up else "pending"
    s = db.session
    try:
        s.execute(
            _ATTEMPT, {"id": d.id, "code": answer.code, "error": answer.error, "body": answer.body, "ms": answer.ms}
        )
        recorded = s.execute(
            _RECORD,
            {
                "id": d.id,
                "lease": d.lease_until,
                "status": status,
                "next": retry_at,
                "code": answer.code,
                "error": answer.error,
            },
        ).rowcount
        if recorded and gives_up:
            reason = (
                f"Its deliveries failed for {_span(config['WEBHOOK_RETRY_FOR_S'])} (the last: "
                f"{answer.error or f'HTTP {answer.code}'}), so it was disabled on {now:%Y-%m-%d %H:%M} UTC."
            )
            if s.execute(_DISABLE, {"id": d.endpoint_id, "reason": reason[:500]}).rowcount:
                audit.record(s, WORKER, "webhook.disabled", "webhook_endpoint", d.endpoint_id, reason=reason)
        s.commit()
    finally:
        s.rollback()
    return answer


def _span(seconds: float) -> str:
    """3 days, 5 hours, 10 minutes, 30 seconds."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = round(seconds / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds:g} seconds"


def backoff(attempts: int, base: float) -> float:
    """Seconds before retry `attempts` + 1: base, 2 base, 4 base, ... (capped at a day), each
    within +-20 % so that many failed deliveries do not retry in one wave."""
    return min(base * 2.0 ** min(attempts - 1, 30), 86400) * random.uniform(0.8, 1.2)


def send(url: str, body: bytes, headers: dict, *, timeout: float, max_bytes: int, allow_private: bool) -> Answer:
    """POST `body` to `url`: http(s) only, to an address checked before connecting (private,
    loopback and other non-public ranges refused unless allowed), no redirect followed,
    `timeout` for the whole exchange (name lookup included: a watchdog shuts the socket at
    the deadline), at most `max_bytes` of the answer read. Never raises."""
    started = time.monotonic()
    deadline = started + timeout

    def done(code=None, head=None, error=None) -> Answer:
        clean = lambda text: text and text.replace("\x00", "")[:500]  # noqa: E731 - PostgreSQL text holds no NUL
        return Answer(code, clean(head), clean(error), int((time.monotonic() - started) * 1000))

    try:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return done(error="not an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _address(parts.hostname, port, allow_private, deadline)
    except Exception as exc:  # noqa: BLE001 - an answer, not an exception
        return done(error=str(exc) or type(exc).__name__)
    conn = _Connection(parts.hostname, address, port, max(deadline - time.monotonic(), 0.001), parts.scheme == "https")
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0), conn.abort)
    watchdog.start()
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        read = b""
        while len(read) < max_bytes and time.monotonic() < deadline:
            chunk = resp.read1(max_bytes - len(read))
            if not chunk:
                break
            read += chunk
        return done(resp.status, read[:500].decode("utf-8", "replace"))
    except Exception as exc:  # noqa: BLE001 - a timeout, a reset, a bad answer: all are answers
        if time.monotonic() >= deadline:
            return done(error=f"timed out after {timeout:g} s")
        return done(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    finally:
        watchdog.cancel()
        conn.close()


_RESOLVER = ThreadPoolExecutor(4, thread_name_prefix="resolve")  # getaddrinfo has no timeout of its own


def _address(host: str, port: int, allow_private: bool, deadline: float) -> str:
    """The address to connect to: every address the name has must be public (else a name could
    point some of its answers inside)."""
    lookup = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=max(deadline - time.monotonic(), 0.001))
    except FutureTimeout:
        raise ValueError(f"looking up {host} took too long") from None
    addresses = [info[4][0] for info in infos]
    if not allow_private and not all(public_address(a) for a in addresses):
        raise ValueError(f"refused: {host} has a private, loopback or otherwise non-public address")
    return addresses[0]


# Ranges that carry another address inside, or are not on the public internet, whatever
# Python's `is_global` says of them in this version.
_NOT_PUBLIC = [
    ipaddress.ip_network(n)
    for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "::/96", "fec0::/10", "100.64.0.0/10", "0.0.0.0/8")
]


def public_address(text: str) -> bool:
    """Whether an address is on the public internet (an IPv4 inside IPv6 judged as itself)."""
    ip = ipaddress.ip_address(text.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_link_local:
        return False
    return not any(ip in net for net in _NOT_PUBLIC if net.version == ip.version)


class _Connection(http.client.HTTPConnection):
    """HTTP(S) to an address chosen beforehand (the one checked), naming the host for TLS."""

    def __init__(self, host: str, address: str, port: int, timeout: float, tls: bool):
        super().__init__(host, port, timeout=timeout)
        self._address, self._tls = address, tls

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._tls:
            self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)

    def abort(self) -> None:
        """The deadline: whatever the exchange is doing, its socket stops."""
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
