"""Liveness and readiness for load balancers: /healthz (process up), /readyz (database reachable,
and the replica's state: a replica down or lagging leaves the instance ready, reading the primary)."""

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import reads
from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok", **reads.status()}
