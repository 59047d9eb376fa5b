"""Flask-Login's user loader: a cookie names the user, the session version it was made for,
and (in the session) the server-side session it belongs to."""

from flask import g, session

from ..extensions import db, login_manager
from ..models import User
from ..request_log import note_principal
from ..services.signin import session_alive


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Deactivation or a password change bumps session_version, ending older sessions at once;
    sign-out, idleness and age end one session (services/signin.py)."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active:
        return None
    if user.session_version != int(version):
        g.signed_out_why = (
            "You were signed out because your access changed (your role, or your password): sign in again."
        )
        return None
    if not session_alive(session.get("sid"), user.id):
        g.signed_out_why = "Your session ended (signed out, or unused for a while): sign in again."
        return None
    note_principal(f"user:{user.id}")
    return user


# The sign-in page says why a session ended, when the loader knows (Flask-Login passes its
# message through this hook before flashing it).
login_manager.localize_callback = lambda message: g.get("signed_out_why", message)
