"""Admin pages: API tokens (secret shown once, at creation) and the API reference."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..api.openapi import document
from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..services import tokens as token_service
from ..views import Views

views = Views()


@views.route("/tokens", methods=["GET", "POST"])
@require("manage")
def tokens():
    secret = None
    if request.method == "POST":
        form_view("admin/tokens.html", later=lambda: {"tokens": token_service.list_tokens()}, secret=None)
        _, secret = token_service.create_token(
            request.form.get("name"),
            request.form.getlist("scopes"),
            owner=request.form.get("owner") or None,
            actor=operator_actor(),
            created_by_id=current_user.id,
        )
    response = render_template("admin/tokens.html", tokens=token_service.list_tokens(), secret=secret, error=None)
    return response, 200, {"Cache-Control": "no-store"}


@views.post("/tokens/<id:token_id>/revoke")
@require("manage")
def revoke_token(token_id):
    form_view("admin/tokens.html", later=lambda: {"tokens": token_service.list_tokens()}, secret=None)
    token = token_service.revoke_token(token_id, actor=operator_actor())
    flash(f"Token {token['name']} revoked.")
    return redirect(url_for("admin.tokens"), 303)


@views.get("/api-reference")
@require("read")
def api_reference():
    return render_template("admin/api_reference.html", doc=document())
