"""Scale fixtures: a primary with a streaming replica (pg_basebackup -R) shared by the scale
tests, databases on it, and apps reading from the replica."""

import uuid
from types import SimpleNamespace

import pytest

from tests import pg
from tests.conftest import make_app, migrate
from tests.scale.servers import Replica
from wallet_app.extensions import db
from wallet_app.services.audit import Actor
from wallet_app.services.tokens import create_token


@pytest.fixture(scope="package")
def replicated():
    """A cluster of our own and its hot standby, streaming; destroyed at the end."""
    primary, replica = pg.Cluster(), None
    try:
        replica = Replica(primary)
        yield SimpleNamespace(primary=primary, replica=replica)
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


@pytest.fixture(scope="module")
def database(replicated):
    """A migrated database on the primary, replayed on the replica: (primary URL, replica URL)."""
    name = pg.create_database(replicated.primary.url)
    url = pg.with_database(replicated.primary.url, name)
    migrate(url)
    replicated.replica.catch_up(url)
    yield SimpleNamespace(url=url, replica_url=pg.with_database(replicated.replica.url, name), name=name)
    pg.drop_database(replicated.primary.url, name)


@pytest.fixture
def replica_app(database):
    """A factory: the app on the primary with reads on the replica (real commits)."""
    apps = []

    def make(**config):
        app = make_app(
            database.url,
            **{
                "REPLICA_DATABASE_URL": database.replica_url,
                "REPLICA_MAX_LAG_SECONDS": 60,
                "REPLICA_RETRY_SECONDS": 0.5,
                **config,
            },
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def api_token(app, scopes: str = "read,write") -> dict:
    """A bearer token's headers for `app`; each token is a principal of its own."""
    with app.app_context():
        _, secret = create_token(f"scale-{uuid.uuid4().hex[:6]}", scopes, actor=Actor("cli", "cli"))
    return {"Authorization": f"Bearer {secret}"}
