"""Error pages in the layout for the console; problem+json for anything under /api/."""
from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from ..api.errors import problem

MESSAGES = {403: "Your role does not allow this page or action.",
            404: "There is nothing at this address.",
            429: "Too many requests; wait a moment and try again.",
            500: "Something went wrong on our side. Nothing was changed; please try again."}


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _render(exc.code, exc.name, exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        app.logger.exception("unhandled error")
        return _render(500, "Internal server error", InternalServerError())


def _render(code: int, name: str, exc: HTTPException):
    if request.path.startswith("/api/"):
        slug = name.lower().replace(" ", "_")
        return problem(code, name, exc.description or name, slug, headers=dict(exc.get_response().headers)
                       if code in (405, 429) else None)
    message = MESSAGES.get(code, exc.description)
    response = render_template("errors/error.html", code=code, name=name, message=message)
    return response, code, ({"Retry-After": exc.get_response().headers.get("Retry-After", "60")}
                            if code == 429 else {})
