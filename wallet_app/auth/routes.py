"""Sign-in and sign-out for console operators."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from .. import throttle
from ..error_pages import form_view
from ..extensions import login_manager
from ..services import operators
from ..services.signin import sign_in, sign_out
from .forms import PasswordForm, SignInForm
from .roles import operator_actor, require

bp = Blueprint("auth", __name__)
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."


def _safe_next(target: str | None) -> str:
    """Only ever redirect inside the app: a path, never a scheme, host or `//`."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for("wallets.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        retry_after = throttle.hit(current_app.config["SIGNIN_RATE_LIMIT"], "signin", request.remote_addr or "")
        if retry_after is not None:
            raise TooManyRequests("Too many sign-in attempts from your address.", retry_after=retry_after)
    form = SignInForm()
    if form.validate_on_submit():
        form_view("auth/login.html", errors_in=form, status=None)
        user, token = sign_in(form.email.data, form.password.data, request.remote_addr)
        session.clear()  # a fresh session at sign-in: no fixation
        session["sid"] = token
        login_user(user)
        return redirect(_safe_next(request.args.get("next")), 303)
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    sign_out(session.get("sid"), operator_actor())
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"), 303)


@bp.route("/password", methods=["GET", "POST"])
@require("read")  # every role
def password():
    """Change one's own password (forced after an admin's reset: see `_password_first`)."""
    form = PasswordForm()
    if form.validate_on_submit():
        form_view("auth/password.html", errors_in=form)
        user = operators.change_password(
            current_user.id,
            form.current_password.data,
            form.new_password.data,
            form.confirm_password.data,
            actor=operator_actor(),
        )
        login_user(user)  # this session carries on under the new session version; the others ended
        flash("Password changed.")
        return redirect(url_for("wallets.index"), 303)
    return render_template("auth/password.html", form=form), 422 if form.errors else 200


@bp.before_app_request
def _password_first():
    """After an admin's reset, the operator's first page is the password change. The API and
    static files are left alone before `current_user` is asked: asking loads the operator
    (Flask-Login's loader and cookie checks, ~8% of an API transfer's CPU: bench/PROFILE.md)."""
    if request.blueprint == "api" or request.endpoint in ("auth.password", "auth.logout", "static"):
        return None
    if getattr(current_user, "must_change_password", False) and current_user.is_authenticated:
        flash("An admin chose your password: choose your own to continue.")
        return redirect(url_for("auth.password"), 303)
    return None


def login_alias():
    """/login, where people type it: the sign-in page (the query string, `next` included, kept)."""
    query = request.query_string.decode()
    return redirect(url_for("auth.login") + (f"?{query}" if query else ""), 301)
