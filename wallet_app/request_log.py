"""Structured request logs: one JSON line per request, with a request id; never a secret.

Only the route pattern is logged (not the query string, headers or body), so tokens,
passwords and CSRF values cannot leak into logs.
"""
import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request
from flask_login import current_user

log = logging.getLogger("wallet_app.requests")
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def init_app(app: Flask) -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SAFE_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def log_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        log.info(json.dumps({
            "request_id": g.get("request_id"),
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule else None,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
            "principal": principal(),
            "remote_addr": request.remote_addr,
        }))
        return response


def principal() -> str | None:
    """Who made the request: an API token (set by the API's auth as g.principal) or an operator."""
    if g.get("principal"):
        return g.principal
    user = current_user if "_login_user" in g else None
    if user is not None and user.is_authenticated:
        return f"user:{user.id}"
    return None
