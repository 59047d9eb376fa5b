"""Admin pages: operators and the audit log."""

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired

from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..models import ROLES
from ..services import audit_log, validate
from ..services import operators as operator_service
from ..views import Views

views = Views()


class OperatorForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Initial password (12+ characters)", validators=[DataRequired()])
    role = SelectField("Role", choices=list(ROLES))


@views.route("/operators", methods=["GET", "POST"])
@require("manage")
def operators():
    form = OperatorForm()
    if form.validate_on_submit():
        form_view("admin/operators.html", errors_in=form, later=lambda: {"users": operator_service.list_operators()})
        operator_service.create_operator(
            form.email.data, form.password.data, form.role.data, actor=operator_actor(), must_change=True
        )
        flash(f"Operator {form.email.data} created.")
        return redirect(url_for("admin.operators"), 303)
    return render_template(
        "admin/operators.html", form=form, users=operator_service.list_operators()
    ), 422 if form.errors else 200


@views.post("/operators/<id:user_id>")
@require("manage")
def update_operator(user_id):
    form_view(
        "admin/operators.html",
        form=OperatorForm(formdata=None),
        later=lambda: {"users": operator_service.list_operators()},
    )
    role = request.form.get("role") or None
    active = {"1": True, "0": False}.get(request.form.get("active", ""))
    user = operator_service.update_operator(user_id, actor=operator_actor(), role=role, active=active)
    flash(f"{user.email}: {user.role}, {'active' if user.active else 'deactivated'}.")
    return redirect(url_for("admin.operators"), 303)


@views.post("/operators/<id:user_id>/password")
@require("manage")
def reset_password(user_id):
    """A temporary password the operator must change at their next sign-in."""
    form_view(
        "admin/operators.html",
        form=OperatorForm(formdata=None),
        later=lambda: {"users": operator_service.list_operators()},
    )
    user = operator_service.reset_password(user_id, request.form.get("password", ""), actor=operator_actor())
    flash(f"{user.email}: password reset. They choose a new one when they next sign in.")
    return redirect(url_for("admin.operators"), 303)


@views.get("/audit")
@require("manage")
def audit():
    args = request.args
    day = validate.day(args.get("day"), "day")
    items, cursor = audit_log.entries(
        actor=args.get("actor") or None, action=args.get("action") or None, day=day, cursor=args.get("cursor")
    )
    return render_template("admin/audit.html", items=items, cursor=cursor)
