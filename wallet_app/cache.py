"""Figures that may be a little stale, kept in Redis for CACHE_SECONDS: the dashboard's
aggregates, the fee table and the exchange rates as people read them. Never a balance on its
own, nor anything a write checks (the engine reads its own tables under its locks). A
principal who has just written skips the cache (read-your-writes); a change to what is cached
deletes it. Without REDIS_URL, or with Redis not answering, every call computes.
"""

import json
from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from redis.exceptions import RedisError

from . import reads
from .extensions import redis_client

T = TypeVar("T")


def cached(name: str, compute: Callable[[], T], decode: Callable[[object], T] = lambda v: v) -> T:
    """`compute()`, or its JSON kept under `name` (Decimals as strings: `decode` restores them)."""
    redis, seconds = redis_client(), current_app.config["CACHE_SECONDS"]
    if redis is None or seconds <= 0 or reads.wrote_recently():
        return compute()
    key = _key(name)
    try:
        hit = redis.get(key)
    except RedisError:
        return compute()
    if hit is not None:
        return decode(json.loads(hit))
    value = compute()
    try:
        redis.set(key, json.dumps(value, default=str), px=int(seconds * 1000))
    except RedisError:
        pass
    return value


def invalidate(*names: str) -> None:
    """After a change has committed: the next read computes afresh."""
    redis = redis_client()
    if redis is not None and names:
        try:
            redis.delete(*(_key(n) for n in names))
        except RedisError:
            pass  # it expires within CACHE_SECONDS anyway


def _key(name: str) -> str:
    return f"{current_app.config['RATELIMIT_KEY_PREFIX']}:cache:{name}"
