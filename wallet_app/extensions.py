"""Extension instances, created unbound and attached to the app in create_app (request
limits are in throttle.py), and the app's Redis client."""

from flask import current_app
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData

# Named constraints so Alembic migrations can alter them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()


def redis_client():
    """The app's Redis client (REDIS_URL) for read-your-writes and the cache, made on first
    use; None without REDIS_URL. Short timeouts: Redis is a help here, never a wait."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("redis")
    if client is None:
        import redis

        client = current_app.extensions["redis"] = redis.Redis.from_url(
            url, socket_timeout=1, socket_connect_timeout=1, decode_responses=True
        )
    return client
