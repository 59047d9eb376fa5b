"""problem+json (RFC 9457) for every API error, from one place."""

from flask import Blueprint, Response, json
from werkzeug.exceptions import HTTPException

from ..errors import WalletError

PROBLEM = "application/problem+json"


def problem(
    status: int, title: str, detail: str, code: str, errors: list | None = None, headers: dict | None = None
) -> Response:
    body = {
        "type": f"https://wallet.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return Response(json.dumps(body), status, headers=headers or {}, mimetype=PROBLEM)


class ApiError(Exception):
    """An HTTP-level refusal (auth, scope, malformed request) raised by the API layer."""

    def __init__(self, status: int, code: str, detail: str, field: str | None = None, headers=None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.field, self.headers = status, code, detail, field, headers


TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
}


def register(bp: Blueprint) -> None:
    @bp.errorhandler(WalletError)
    def wallet_error(exc: WalletError):
        errors = [{"field": exc.field, "code": exc.code, "message": exc.message}] if exc.field else None
        # A refused atomic batch names each refused item: {index, code, detail}.
        errors = exc.details.get("errors", errors)
        return problem(exc.status, TITLES.get(exc.status, "Error"), exc.message, exc.code, errors)

    @bp.errorhandler(ApiError)
    def api_error(exc: ApiError):
        errors = [{"field": exc.field, "code": exc.code, "message": exc.detail}] if exc.field else None
        return problem(exc.status, TITLES.get(exc.status, "Error"), exc.detail, exc.code, errors, exc.headers)

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = {413: "payload_too_large", 404: "not_found", 405: "method_not_allowed"}.get(exc.code, "http_error")
        return problem(exc.code, TITLES.get(exc.code, exc.name), exc.description or exc.name, code)
