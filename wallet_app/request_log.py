"""The app's edge: a WSGI layer around Flask that gives every response its request id and
security headers (security.py) and writes one JSON log line per request; never a secret.

Only the route pattern is logged (not the query string, headers or body), so tokens,
passwords and CSRF values cannot leak into logs. Working on the WSGI call itself, not in
Flask hooks, it costs plain dict and list operations per request instead of two hooks'
context lookups and werkzeug's header validation (bench/PROFILE.md: it runs on every API
transfer). Who made the request is noted in the WSGI environ by whoever authenticates it
(note_principal), so the line can name them after Flask has closed the request.
"""

import json
import logging
import os
import re
import sys
import time

from flask import Flask, request
from flask_login import user_logged_in, user_logged_out

from .security import response_headers

log = logging.getLogger("wallet_app.requests")
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
PRINCIPAL = "wallet_app.principal"  # environ key: "token:<id>" or "user:<id>"
_REQUEST = "wallet_app.request"  # environ key: the request, for its route


def init_app(app: Flask) -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    app.request_class = type("LoggedRequest", (KeptInEnviron, app.request_class), {})  # htmx's, say
    app.wsgi_app = Edge(app.wsgi_app)


def note_principal(who: str | None) -> None:
    """Record who made the current request (an API token, an operator), for the log line and
    for read-your-writes (reads.py)."""
    if who is None:
        request.environ.pop(PRINCIPAL, None)
    else:
        request.environ[PRINCIPAL] = who


# An operator's sign-in and sign-out change who the rest of that request is (any app's).
@user_logged_in.connect
def _signed_in(sender, user, **_) -> None:
    note_principal(f"user:{user.id}")


@user_logged_out.connect
def _signed_out(sender, **_) -> None:
    note_principal(None)


def principal() -> str | None:
    """Who made the current request, as noted by its authentication; None if nobody was."""
    return request.environ.get(PRINCIPAL)


class KeptInEnviron:
    """A request class mixin: the request is also kept in the WSGI environ for the edge (Flask
    drops its own reference there when it closes the request, before the edge logs the route)."""

    def __init__(self, environ, *args, **kwargs):
        super().__init__(environ, *args, **kwargs)
        environ[_REQUEST] = self


class Edge:
    """Wraps the Flask app's wsgi_app (inside ProxyFix, so it sees the client's address)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID")
        request_id = incoming if incoming and _SAFE_ID.fullmatch(incoming) else os.urandom(16).hex()
        status = "500"  # what the server answers if the app raises before it responds

        def respond(status_line, headers, exc_info=None):
            nonlocal status
            status = status_line[:3]
            headers += response_headers(environ, headers)
            headers.append(("X-Request-ID", request_id))
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, respond)
        finally:  # a teardown that raised, too, gets its line
            self.write_line(environ, environ.pop(_REQUEST, None), request_id, status, started)

    @staticmethod
    def write_line(environ: dict, req, request_id: str, status: str, started: float) -> None:
        """The request's line; popping the request from the environ leaves no cycle."""
        if log.isEnabledFor(logging.INFO):
            rule = req.url_rule if req is not None else None
            # request_id matches _SAFE_ID, the method is an HTTP token and the status three
            # digits: none of them needs escaping.
            line = (
                f'{{"request_id": "{request_id}", "method": "{environ["REQUEST_METHOD"]}", '
                f'"route": {json.dumps(rule.rule) if rule else "null"}, "status": {int(status)}, '
                f'"duration_ms": {(time.perf_counter() - started) * 1000:.2f}, '
                f'"principal": {json.dumps(environ.get(PRINCIPAL))}, '
                f'"remote_addr": {json.dumps(environ.get("REMOTE_ADDR"))}}}'
            )
            # Handed to the logger without the caller lookup log.info makes.
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, line, None, None))
