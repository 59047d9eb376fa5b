"""The wallet operations console: create_app builds the Flask app."""

from flask import Flask, Response, current_app, request
from sqlalchemy.exc import DBAPIError
from werkzeug.routing import BaseConverter, ValidationError

from . import config, error_pages, formatting, reads, request_log, security, throttle
from .extensions import csrf, db, htmx, login_manager, migrate


class WalletApp(Flask):
    """Flask, asking once per view or hook whether it is a coroutine: Flask asks on every
    call (inspect.iscoroutinefunction, nine times an API request: bench/PROFILE.md)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synced: dict = {}  # view or hook -> what to call (bound methods compare equal)

    def ensure_sync(self, func):
        synced = self._synced.get(func)
        if synced is None:
            synced = self._synced[func] = super().ensure_sync(func)
        return synced


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory; `test_config` overrides settings read from the environment."""
    app = WalletApp(
        __name__, template_folder="../templates", static_folder="../static", instance_path=str(config.INSTANCE)
    )
    app.config.update(config.from_env(test_config))
    app.url_map.converters["id"] = IdConverter
    config.INSTANCE.mkdir(exist_ok=True)  # a local run's database and secret key (localdb.py)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.INSTANCE.parent / "migrations"))
    login_manager.init_app(app)
    app.before_request(_upload_limit)  # before the CSRF check, which reads the form
    csrf.init_app(app)
    htmx.init_app(app)
    throttle.init_app(app)
    reads.init_app(app)

    from . import cli
    from .auth import loader  # noqa: F401  registers the user loader

    cli.register(app)
    _register_blueprints(app)
    request_log.init_app(app)
    security.init_app(app)  # ProxyFix outside the edge: the log sees the client's address
    error_pages.init_app(app)
    formatting.init_app(app)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.context_processor(_allowed_values)

    return app


def _upload_limit() -> None:
    """A view that takes larger files (a bank statement) names its limit's setting in
    `upload_limit`; every other request keeps MAX_CONTENT_LENGTH."""

    setting = getattr(current_app.view_functions.get(request.endpoint), "upload_limit", None)
    if setting:
        request.max_content_length = current_app.config[setting]


class IdConverter(BaseConverter):
    """A row id in a console URL: ASCII digits of a positive bigint. Anything else (0, 20
    digits, full-width digits that `int` would accept) matches no route: a 404."""

    regex = r"[1-9][0-9]{0,18}"  # 0 and leading zeros never match (a 404, not a 405 from a GET twin)

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= 2**63 - 1:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(value)


def _allowed_values() -> dict:
    """Every list of allowed values, from its one definition, for every template."""
    from .ledger.catalogue import KINDS, PAGE_KINDS, label, outside_label
    from .models import ROLES, WALLET_STATUSES
    from .money import MINOR_UNITS

    return {
        "currencies": sorted(MINOR_UNITS),
        "kinds": KINDS,
        "page_kinds": PAGE_KINDS,
        "kind_label": label,
        "outside_label": outside_label,
        "wallet_statuses": WALLET_STATUSES,
        "roles": ROLES,
    }


def _database_unavailable(exc: DBAPIError):
    """A dropped or restarting database is a 503 to retry, never a 500."""
    if not exc.connection_invalidated:
        raise exc
    db.session.rollback()
    return Response(
        "The database is unavailable; try again in a moment.\n",
        503,
        {"Retry-After": "1", "Content-Type": "text/plain; charset=utf-8"},
    )


def _register_blueprints(app: Flask) -> None:
    """One blueprint per area (docs/DESIGN.md, "Layers"), each assembled here from the modules
    that hold its views (wallet_app/views.py): nothing registers itself by being imported."""
    from . import admin, finance, wallets
    from .api.routes import bp as api_bp
    from .auth.routes import bp as auth_bp
    from .auth.routes import login_alias
    from .health import bp as health_bp
    from .views import blueprint

    app.register_blueprint(health_bp)
    app.register_blueprint(blueprint("wallets", wallets.__name__, *wallets.VIEWS))
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.add_url_rule("/login", "login", login_alias)
    app.register_blueprint(blueprint("admin", admin.__name__, *admin.VIEWS), url_prefix="/admin")
    app.register_blueprint(blueprint("finance", finance.__name__, *finance.VIEWS), url_prefix="/finance")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
