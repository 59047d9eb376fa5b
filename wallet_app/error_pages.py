"""The console's error face: a refused form shows the message next to its field; any other
refusal or HTTP error is a page in the layout. Anything under /api/ answers problem+json."""

from flask import Flask, g, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .api.errors import problem
from .errors import WalletError
from .formatting import refusal

MESSAGES = {
    403: "Your role does not allow this page or action.",
    404: "There is nothing at this address.",
    429: "Too many requests; wait a moment and try again.",
    500: "Something went wrong on our side. Nothing was changed; please try again.",
}
# A refusal names a service field; the form may call its input otherwise.
FIELD_ALIASES = {"wallet_id": "amount", "from_wallet_id": "amount", "to_wallet_id": "recipient"}


def form_view(template: str, *, errors_in=None, status: int | None = 422, later=None, **context) -> None:
    """Name the page the request is filling in: a WalletError raised while it runs re-renders
    `template` with `context`, the message next to its field of the form `errors_in` (passed
    to the template as `form`), or as `error` without one; answered with `status` (None: the
    error's own). `later`: a function returning the rest of the page's context, called only
    if there is an error to show (a page's reads cost nothing on the way to a write)."""
    g.form_view = (errors_in, template, status, context, later)


def init_app(app: Flask) -> None:
    @app.errorhandler(WalletError)
    def refused(exc: WalletError):
        view = g.get("form_view")
        if view is None:
            name = "Not found" if exc.status == 404 else "Not accepted"
            return _page(exc.status, name, refusal(exc))
        form, template, status, context, later = view
        context = {**(later() if later else {}), **context}
        status = status or exc.status
        if form is None:
            return render_template(template, error=exc, **context), status
        name = FIELD_ALIASES.get(exc.field, exc.field)
        field = getattr(form, name or "", None) or next(iter(f for f in form if f.type != "CSRFTokenField"))
        field.errors = [*field.errors, exc.message]
        return render_template(template, **{"form": form, **context}), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            slug = exc.name.lower().replace(" ", "_")
            return problem(
                exc.code,
                exc.name,
                exc.description or exc.name,
                slug,
                headers=dict(exc.get_response().headers) if exc.code in (405, 429) else None,
            )
        headers = {"Retry-After": exc.get_response().headers.get("Retry-After", "60")} if exc.code == 429 else {}
        return _page(exc.code, exc.name, MESSAGES.get(exc.code, exc.description), headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        app.logger.exception("unhandled error")
        return http_error(InternalServerError())


def _page(code: int, name: str, message: str, headers: dict | None = None):
    return render_template("errors/error.html", code=code, name=name, message=message), code, headers or {}
