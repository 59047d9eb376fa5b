"""Request limits (API tokens, sign-in per address) on the `limits` library.

Used directly, not through Flask-Limiter: its before_request hook ran for every request,
limited or not, at a cost bench/PROFILE.md records. Storage is Redis when REDIS_URL is set, so a limit holds across
workers and hosts; else memory, per process (local use and tests).
"""
import math
import time
from functools import lru_cache

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter


def init_app(app: Flask) -> None:
    app.extensions["throttle"] = FixedWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))


@lru_cache(maxsize=16)
def _parse(limit: str) -> RateLimitItem:
    return parse(limit)


def hit(limit: str, scope: str, key: str) -> int | None:
    """Count one request for `key` under `limit` (e.g. "600/minute"). None while within the
    limit; over it, the seconds until the window resets (for Retry-After)."""
    limiter, item = current_app.extensions["throttle"], _parse(limit)
    key = f"{current_app.config['RATELIMIT_KEY_PREFIX']}:{key}"
    if limiter.hit(item, scope, key):
        return None
    reset = limiter.get_window_stats(item, scope, key).reset_time
    return max(1, math.ceil(reset - time.time()))
