"""Security headers for every response (CSP without inline script, no framing, no sniffing,
no caching of anything but static files), the client's address behind trusted proxies, and
no cookie session for the bearer-token API."""

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions for the console. The API authenticates by bearer token only, so
    its requests get Flask's null session: no cookie is read or set (opening one cost a
    measurable share of an API call's CPU: bench/PROFILE.md)."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = ConsoleSessionInterface()
    if proxies := app.config["TRUSTED_PROXIES"]:
        # Behind N reverse proxies, the client is the N-th address from the right of
        # X-Forwarded-For; without this every user shares the proxy's address (limits, audit).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


_DEFAULTS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)
_HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
# Pages and API answers show balances: never kept by a browser or proxy, so Back and Forward
# after a transfer reload rather than show a stale balance. Static files are cached.
_NO_STORE = ("Cache-Control", "no-store")


def response_headers(environ: dict, headers: list) -> list:
    """The security headers a response (its WSGI header list) lacks; one it sets itself stays.
    Added by the app's edge (request_log.py) to every response."""
    present = {name.lower() for name, _ in headers}
    missing = [header for header in _DEFAULTS if header[0].lower() not in present]
    if environ["wsgi.url_scheme"] == "https" and "strict-transport-security" not in present:
        missing.append(_HSTS)
    if "cache-control" not in present and not environ.get("PATH_INFO", "").startswith("/static/"):
        missing.append(_NO_STORE)
    return missing
