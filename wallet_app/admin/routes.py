"""Admin pages: operators and the audit log."""
from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired

from ..auth.roles import operator_actor, require
from ..errors import WalletError
from ..models import ROLES
from ..services import audit_log
from ..services import operators as operator_service
from .blueprint import bp


class OperatorForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Initial password (12+ characters)", validators=[DataRequired()])
    role = SelectField("Role", choices=list(ROLES))


@bp.route("/operators", methods=["GET", "POST"])
@require("manage")
def operators():
    form = OperatorForm()
    status = 200
    if form.validate_on_submit():
        try:
            operator_service.create_operator(form.email.data, form.password.data, form.role.data, actor=operator_actor())
            flash(f"Operator {form.email.data} created.")
            return redirect(url_for("admin.operators"), 303)
        except WalletError as exc:
            getattr(form, exc.field, form.email).errors.append(exc.message)
            status = 422
    return render_template("admin/operators.html", form=form, users=operator_service.list_operators(),
                           roles=ROLES), status


@bp.post("/operators/<int:user_id>")
@require("manage")
def update_operator(user_id):
    try:
        role = request.form.get("role") or None
        active = {"1": True, "0": False}.get(request.form.get("active", ""))
        if user_id == current_user.id and (active is False or (role and role != "admin")):
            raise WalletError("You cannot lock yourself out.", field="user_id")
        user = operator_service.update_operator(user_id, actor=operator_actor(), role=role, active=active)
        flash(f"{user.email}: {user.role}, {'active' if user.active else 'deactivated'}.")
    except WalletError as exc:
        flash(exc.message)
    return redirect(url_for("admin.operators"), 303)


@bp.get("/audit")
@require("manage")
def audit():
    args = request.args
    try:
        day = date.fromisoformat(args["day"]) if args.get("day") else None
    except ValueError:
        day = None
    items, cursor = audit_log.entries(actor=args.get("actor") or None, action=args.get("action") or None,
                                      day=day, cursor=args.get("cursor"))
    return render_template("admin/audit.html", items=items, cursor=cursor)
