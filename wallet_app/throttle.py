"""Request limits (API tokens, sign-in per address): fixed windows counted in Redis when
REDIS_URL is set, so a limit holds across workers and hosts; else in memory, per process.

Counted with the `limits` library's storage, not through Flask-Limiter (its before_request
hook ran for every request, limited or not: bench/PROFILE.md) nor one Redis round trip per
request (about a sixth of an API transfer's Python time, same page).

A limit of N requests a window is counted in batches of B = max(1, min(100, N // 100)) per
process: a process allows up to B - 1 requests on its own before adding them to Redis (one
round trip per B requests), and asks Redis before it ever refuses. So with P processes a key
gets at most N + P x (B - 1) requests in a window, and at least N - P x (B - 1) (hits allowed
just before a window ends count in the next): 1% of N per process at most. Limits under 200
a window (sign-in, failed authentications, a token's 3/minute in tests) and the in-memory
storage count every request, exactly. The threads of a process share its B - 1: while one adds
a batch, the others ask Redis, one add at a time per key, so a slow answer is never read after
a newer one. tests/test_throttle.py checks all three.
"""

import math
import threading
import time
from functools import lru_cache

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string

MAX_KEYS = 10_000  # local counts kept per process; past that they are dropped (at most B - 1 hits each)


def init_app(app: Flask) -> None:
    app.extensions["throttle"] = Throttle(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))


@lru_cache(maxsize=16)
def _parse(limit: str) -> RateLimitItem:
    return parse(limit)


def hit(limit: str, scope: str, key: str) -> int | None:
    """Count one request for `key` under `limit` (e.g. "600/minute"). None while within the
    limit; over it, the seconds until the window resets (for Retry-After)."""
    app = current_app._get_current_object()
    return app.extensions["throttle"].hit(_parse(limit), scope, f"{app.config['RATELIMIT_KEY_PREFIX']}:{key}")


class Throttle:
    """Fixed-window counts in `storage`, batched per process as the module says."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self.shared = not isinstance(storage, MemoryStorage)
        self.lock = threading.Lock()
        # key -> [the storage's count at our last add, hits being added now, hits not added
        # yet, the lock held while this key's batch is added to storage (1 request in B)]
        self.local: dict[str, list] = {}

    def batch(self, item: RateLimitItem) -> int:
        return max(1, min(100, item.amount // 100)) if self.shared else 1

    def hit(self, item: RateLimitItem, scope: str, key: str) -> int | None:
        name = item.key_for(scope, key)
        batch = self.batch(item)
        if batch == 1:
            return self._verdict(item, name, self.storage.incr(name, item.get_expiry(), 1))
        with self.lock:
            counts = self.local.get(name)
            if counts is None:
                if len(self.local) >= MAX_KEYS:
                    self.local.clear()
                counts = self.local[name] = [0, 0, 0, threading.Lock()]
            known, adding, waiting, _ = counts
            # At most B - 1 hits of this process are ever unknown to the storage: those being
            # added count too, so the other threads ask the storage meanwhile.
            if adding + waiting + 1 < batch and known + adding + waiting + 1 <= item.amount:
                counts[2] += 1
                return None
            amount = waiting + 1
            counts[1] += amount
            counts[2] = 0
        # One add at a time per key and process, so totals come back in the order the storage
        # counted them: a slower answer (an older, lower total) never overwrites a newer one.
        with counts[3]:
            try:
                total = self.storage.incr(name, item.get_expiry(), amount)
            finally:
                with self.lock:
                    counts[1] -= amount
            with self.lock:
                counts[0] = total
        return self._verdict(item, name, total)

    def _verdict(self, item: RateLimitItem, name: str, total: int) -> int | None:
        if total <= item.amount:
            return None
        return max(1, math.ceil(self.storage.get_expiry(name) - time.time()))
