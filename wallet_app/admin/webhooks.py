"""Admin pages: webhook endpoints (secret shown once, when made or rotated), their attempts,
a test event, redelivery; and the console's word when the worker disabled one."""

from datetime import datetime, timezone

from flask import flash, redirect, render_template, request, url_for

from ..auth.roles import can, operator_actor, require
from ..error_pages import form_view
from ..errors import InvalidInput
from ..events import webhooks as service
from ..events.feed import TYPES
from ..views import Views

views = Views()
NO_STORE = {"Cache-Control": "no-store"}  # pages that may show a secret


@views.app_template_global()
def webhooks_disabled() -> list[dict]:
    """For the layout: endpoints the worker turned off (admins are told on every page)."""
    from flask_login import current_user

    return service.disabled() if can(current_user, "manage") else []


def _list() -> dict:
    return {"endpoints": service.list_endpoints(), "types": TYPES, "created": None}


@views.route("/webhooks", methods=["GET", "POST"])
@require("manage")
def webhooks():
    created = None
    if request.method == "POST":
        form_view("admin/webhooks.html", later=_list)
        created = service.create(
            request.form.get("url"),
            request.form.getlist("event_types"),
            request.form.get("enabled", "1") == "1",
            actor=operator_actor(),
        )
    return render_template("admin/webhooks.html", **{**_list(), "created": created}), 200, NO_STORE


def _one(endpoint_id, secret=None) -> dict:
    return {
        "endpoint": service.get(endpoint_id),
        "attempts": service.attempts(endpoint_id),
        "types": TYPES,
        "secret": secret,
    }


@views.route("/webhooks/<id:endpoint_id>", methods=["GET", "POST"])
@require("manage")
def webhook(endpoint_id):
    page = _one(endpoint_id)  # an endpoint that does not exist: 404, before any form
    if request.method == "POST":
        form_view("admin/webhook.html", **page)
        service.update(
            endpoint_id,
            actor=operator_actor(),
            url=request.form.get("url"),
            event_types=request.form.getlist("event_types"),
            enabled=request.form.get("enabled") == "1",
        )
        flash("Endpoint saved.")
        return redirect(url_for("admin.webhook", endpoint_id=endpoint_id), 303)
    return render_template("admin/webhook.html", **page)


@views.post("/webhooks/<id:endpoint_id>/rotate")
@require("manage")
def rotate_webhook_secret(endpoint_id):
    form_view("admin/webhook.html", **_one(endpoint_id))
    rotated = service.rotate_secret(endpoint_id, actor=operator_actor())
    return render_template("admin/webhook.html", **_one(endpoint_id, rotated["secret"])), 200, NO_STORE


@views.post("/webhooks/<id:endpoint_id>/test")
@require("manage")
def test_webhook(endpoint_id):
    form_view("admin/webhook.html", **_one(endpoint_id))
    sent = service.send_test(endpoint_id, actor=operator_actor())
    flash(f"Test event {sent['event_id']} queued; its attempt shows below within seconds.")
    return redirect(url_for("admin.webhook", endpoint_id=endpoint_id), 303)


@views.post("/webhooks/<id:endpoint_id>/redeliver")
@require("manage")
def redeliver_webhook(endpoint_id):
    form_view("admin/webhook.html", **_one(endpoint_id))
    event_id = request.form.get("event_id", "").strip() or None
    since = _moment(request.form.get("since", "").strip()) if not event_id else None
    n = service.redeliver(endpoint_id, actor=operator_actor(), event_id=event_id, since=since)
    flash(f"{n:,} event{'s' if n != 1 else ''} queued again.")
    return redirect(url_for("admin.webhook", endpoint_id=endpoint_id), 303)


@views.post("/webhooks/<id:endpoint_id>/delete")
@require("manage")
def delete_webhook(endpoint_id):
    form_view("admin/webhook.html", **_one(endpoint_id))
    service.delete(endpoint_id, actor=operator_actor())
    flash("Endpoint deleted.")
    return redirect(url_for("admin.webhooks"), 303)


def _moment(value: str):
    """A datetime-local field's value, in UTC as every time in the console."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    except ValueError:
        raise InvalidInput("Give a date and time, such as 2026-12-07 09:30.", field="since") from None
