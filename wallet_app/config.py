"""Settings read from the environment, with safe local defaults."""

import os
import secrets
from pathlib import Path

# The app's instance folder (localdb.py, which keeps the embedded server's data there, names
# it the same way; it never imports this module, and this one imports it only for a local run,
# so `python -m wallet_app.localdb` runs a single copy of it).
INSTANCE = Path(__file__).resolve().parent.parent / "instance"


def _database_url(url: str) -> str:
    # psycopg 3 is our PostgreSQL driver; accept the common URL spellings for it.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_env(overrides: dict | None = None) -> dict:
    """Build the config mapping: defaults, then environment, then explicit overrides.

    Without DATABASE_URL (and no database from the caller) this is a local run: the embedded
    PostgreSQL of localdb.py, a secret key kept in instance/, cookies over plain http."""
    env = os.environ
    overrides = overrides or {}
    debug = env.get("FLASK_DEBUG", "") in ("1", "true")
    local = not env.get("DATABASE_URL") and "SQLALCHEMY_DATABASE_URI" not in overrides
    cfg = {
        "SECRET_KEY": env.get("SECRET_KEY") or (_local_secret_key() if local else None),
        "SQLALCHEMY_DATABASE_URI": _local_database_url() if local else env.get("DATABASE_URL", ""),
        "REPLICA_DATABASE_URL": env.get("REPLICA_DATABASE_URL"),
        "REDIS_URL": env.get("REDIS_URL"),
        "DB_POOL_SIZE": int(env.get("DB_POOL_SIZE", "10")),
        # psycopg prepares a statement run this many times on a connection; "none" never
        # prepares: needed behind PgBouncer < 1.21 in transaction pooling (docs/SCALING.md).
        "DB_PREPARE_THRESHOLD": env.get("DB_PREPARE_THRESHOLD", "5"),
        # The replica (wallet_app/reads.py): skipped when further behind than this, and
        # tried again this long after it failed to answer.
        "REPLICA_MAX_LAG_SECONDS": float(env.get("REPLICA_MAX_LAG_SECONDS", "5")),
        "REPLICA_RETRY_SECONDS": float(env.get("REPLICA_RETRY_SECONDS", "5")),
        # How long Redis keeps stale-tolerant figures (dashboard, fee table; wallet_app/cache.py).
        "CACHE_SECONDS": float(env.get("CACHE_SECONDS", "10")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": not (debug or local) and env.get("SESSION_COOKIE_SECURE", "1") != "0",
        "MAX_CONTENT_LENGTH": 64 * 1024,
        # A batch's body: 1,000 items of about 150 bytes each, with room to spare.
        "BATCH_MAX_CONTENT_LENGTH": 512 * 1024,
        # A bank statement (CSV): 200,000 lines of about 80 bytes each.
        "STATEMENT_MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "WRITE_RETRIES": 5,
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        # Keys in a shared Redis: one prefix per deployment (tests make their own).
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "wallet"),
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "600/minute"),  # per token
        "SIGNIN_RATE_LIMIT": env.get("SIGNIN_RATE_LIMIT", "20/minute"),  # per address
        "API_AUTH_FAILURE_LIMIT": env.get("API_AUTH_FAILURE_LIMIT", "30/minute"),  # per address
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),  # reverse proxies in front of us
        "SESSION_IDLE_SECONDS": int(env.get("SESSION_IDLE_SECONDS", "1800")),  # console sessions end
        "SESSION_MAX_SECONDS": int(env.get("SESSION_MAX_SECONDS", "43200")),  # ...idle, or when old
        # Holds: how long one lasts unless the request says (at most HOLD_MAX_SECONDS).
        "HOLD_DEFAULT_SECONDS": int(env.get("HOLD_DEFAULT_SECONDS", str(7 * 86400))),
        "HOLD_MAX_SECONDS": int(env.get("HOLD_MAX_SECONDS", str(30 * 86400))),
        # A movement awaiting approval expires (its hold released) after this many seconds.
        "APPROVAL_EXPIRES_IN": int(env.get("APPROVAL_EXPIRES_DAYS", "3")) * 86400,
        # An fx_rates row older than this (seconds) is refused: rate_stale.
        "FX_RATE_MAX_AGE": int(env.get("FX_RATE_MAX_AGE", "3600")),
        # Webhooks (wallet_app/events): private and loopback receivers only when allowed (tests,
        # local runs); retries 1 s, 2 s, 4 s, ... times WEBHOOK_RETRY_BASE_S, for
        # WEBHOOK_RETRY_FOR_S in all (then the delivery fails and its endpoint is disabled).
        "WEBHOOK_ALLOW_PRIVATE": env.get("WEBHOOK_ALLOW_PRIVATE", "0") == "1",
        "WEBHOOK_RETRY_BASE_S": float(env.get("WEBHOOK_RETRY_BASE_S", "1")),
        "WEBHOOK_RETRY_FOR_S": float(env.get("WEBHOOK_RETRY_FOR_S", str(3 * 86400))),
        "WEBHOOK_TIMEOUT_S": float(env.get("WEBHOOK_TIMEOUT_S", "5")),  # per attempt, in all
        "WEBHOOK_MAX_ANSWER_BYTES": 64 * 1024,  # what is read of an answer (its first 500 bytes kept)
        "WORKER_DELIVERIES": int(env.get("WORKER_DELIVERIES", "8")),  # at once, per worker
        "WORKER_EXPIRE_EVERY_S": float(env.get("WORKER_EXPIRE_EVERY_S", "60")),  # expire-holds' schedule
        # how often the worker seals committed history (docs/DESIGN.md, "The seal chain"); 0: every round
        "WORKER_SEAL_EVERY_S": float(env.get("WORKER_SEAL_EVERY_S", "1")),
    }
    cfg.update(overrides)
    if cfg.get("TESTING") or debug:
        cfg["SECRET_KEY"] = cfg["SECRET_KEY"] or "dev-only-not-secret"
    if not cfg["SECRET_KEY"]:
        raise RuntimeError(
            "SECRET_KEY is not set. Set it in the environment (e.g. "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')), "
            "or leave DATABASE_URL unset for a local run."
        )
    cfg["SQLALCHEMY_DATABASE_URI"] = _database_url(cfg["SQLALCHEMY_DATABASE_URI"])
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(cfg)
    # The one-statement writes and the token lookup run in autocommit on a pool of their
    # own (services/atomic.py): cheaper than switching a shared connection to autocommit at
    # every checkout and back at checkin (bench/PROFILE.md). A bind
    # does not inherit SQLALCHEMY_ENGINE_OPTIONS: without them its pool kept 5 connections
    # and opened (and closed) a new one per request past that.
    cfg["SQLALCHEMY_BINDS"] = {
        "autocommit": {
            "url": cfg["SQLALCHEMY_DATABASE_URI"],
            "isolation_level": "AUTOCOMMIT",
            **cfg["SQLALCHEMY_ENGINE_OPTIONS"],
            # no transaction is ever left open to roll back
            "pool_reset_on_return": None,
        }
    }
    if cfg.get("REPLICA_DATABASE_URL"):
        # Reads that may lag (wallet_app/reads.py). A replica that does not answer within
        # two seconds is skipped, not waited for.
        options = cfg["SQLALCHEMY_ENGINE_OPTIONS"]
        cfg["SQLALCHEMY_BINDS"]["replica"] = {
            "url": _database_url(cfg["REPLICA_DATABASE_URL"]),
            **options,
            "connect_args": {**options["connect_args"], "connect_timeout": 2},
        }
    return cfg


def _engine_options(cfg: dict) -> dict:
    # No pre-ping: it costs a round trip per request. A connection found dead is
    # invalidated with the rest of the pool; writes retry (services/atomic.py), reads
    # answer 503 once (see create_app).
    return {
        "pool_size": cfg["DB_POOL_SIZE"],
        "max_overflow": 5,
        "pool_pre_ping": False,
        "connect_args": {"prepare_threshold": _threshold(cfg["DB_PREPARE_THRESHOLD"])},
    }


def _threshold(value) -> int | None:
    return None if str(value).lower() in ("none", "") else int(value)


def _local_database_url() -> str:
    from . import localdb  # only a local run needs the embedded server

    return localdb.url(INSTANCE)


def _local_secret_key() -> str:
    """Made once and kept in instance/secret_key (0600), so sign-ins outlive a restart."""
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(exist_ok=True)
        draft = path.with_name(f"secret_key.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic, and never over a key another process made first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
