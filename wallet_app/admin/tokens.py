"""Admin pages: API tokens (secret shown once, at creation) and the API reference."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..api.openapi import document
from ..auth.roles import operator_actor, require
from ..errors import WalletError
from ..services import tokens as token_service
from .blueprint import bp


@bp.route("/tokens", methods=["GET", "POST"])
@require("manage")
def tokens():
    secret = error = None
    if request.method == "POST":
        try:
            _, secret = token_service.create_token(request.form.get("name"), request.form.getlist("scopes"),
                                                   actor=operator_actor(), created_by_id=current_user.id)
        except WalletError as exc:
            error = exc
    response = render_template("admin/tokens.html", tokens=token_service.list_tokens(), secret=secret, error=error)
    return response, (422 if error else 200), {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
@require("manage")
def revoke_token(token_id):
    try:
        token = token_service.revoke_token(token_id, actor=operator_actor())
        flash(f"Token {token['name']} revoked.")
    except WalletError as exc:
        flash(exc.message)
    return redirect(url_for("admin.tokens"), 303)


@bp.get("/api-reference")
@require("read")
def api_reference():
    return render_template("admin/api_reference.html", doc=document())
