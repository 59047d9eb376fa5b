"""The wallet operations console: create_app builds the Flask app."""
from flask import Flask, render_template
from sqlalchemy import event

from . import config
from .extensions import csrf, db, login_manager, migrate


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory; `test_config` overrides settings read from the environment."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=str(config.INSTANCE))
    app.config.update(config.from_env(test_config))
    config.INSTANCE.mkdir(exist_ok=True)  # home of the local SQLite database

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.INSTANCE.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    with app.app_context():
        _configure_engine(db.engine)

    from . import cli
    from .auth import loader  # noqa: F401  registers the user loader
    cli.register(app)

    @app.get("/")
    def index():
        return render_template("index.html")

    return app


def _configure_engine(engine) -> None:
    """SQLite: make every transaction BEGIN IMMEDIATE so writers serialize (DESIGN.md 4)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
