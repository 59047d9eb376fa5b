"""Roles and what they may do (docs/DESIGN.md, "Roles"); one decorator guards every console route."""

from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required

from ..services.audit import Actor

# Admins may do everything; the other roles are cumulative only where docs/DESIGN.md says so.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"viewer", "support", "finance", "approver", "admin"}),
    "move_money": frozenset({"support", "admin"}),
    "approve": frozenset({"approver", "admin"}),  # four eyes: never one's own (the engine checks)
    "export": frozenset({"finance", "admin"}),
    "reconcile": frozenset({"finance", "admin"}),
    "rates": frozenset({"finance", "admin"}),
    "manage": frozenset({"admin"}),
    "note": frozenset({"support", "finance", "admin"}),  # notes on a wallet (viewers only read them)
    "bulk": frozenset({"support", "finance", "admin"}),  # upload a batch of payouts (a CSV)
}


def can(user, permission: str) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in PERMISSIONS[permission]


def require(permission: str):
    """Sign-in required (redirect to sign-in), then 403 unless the role grants `permission`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        guarded = login_required(wrapped)
        guarded.permission = permission  # read by the route x role matrix test
        return guarded

    return decorator


def operator_actor() -> Actor:
    """The signed-in operator as the services' Actor: idempotency scope, audit name, address."""
    return Actor(f"user:{current_user.id}", current_user.email, request.remote_addr)
