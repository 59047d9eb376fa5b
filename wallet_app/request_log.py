"""Structured request logs: one JSON line per request, with a request id; never a secret.

Only the route pattern is logged (not the query string, headers or body), so tokens,
passwords and CSRF values cannot leak into logs. The line is built by hand and handed to
the logger without the caller lookup `log.info` makes: it runs on every request
(bench/PROFILE.md).
"""
import json
import logging
import os
import re
import sys
import time

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
        incoming = request.headers.get("X-Request-ID")
        g.request_id = incoming if incoming and _SAFE_ID.fullmatch(incoming) else os.urandom(16).hex()

    @app.after_request
    def log_request(response):
        request_id = g.get("request_id", "")
        response.headers["X-Request-ID"] = request_id
        if log.isEnabledFor(logging.INFO):
            rule = request.url_rule
            took = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
            # request_id matches _SAFE_ID and the method is an HTTP token: neither needs escaping.
            line = (f'{{"request_id": "{request_id}", "method": "{request.method}", '
                    f'"route": {json.dumps(rule.rule) if rule else "null"}, "status": {response.status_code}, '
                    f'"duration_ms": {took:.2f}, "principal": {json.dumps(principal())}, '
                    f'"remote_addr": {json.dumps(request.remote_addr)}}}')
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, line, None, None))
        return response


def principal() -> str | None:
    """Who made the request: an API token (set by the API's auth as g.principal) or an operator."""
    if g.get("principal"):
        return g.principal
    user = current_user if "_login_user" in g else None
    if user is not None and user.is_authenticated:
        return f"user:{user.id}"
    return None
