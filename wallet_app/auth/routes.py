"""Sign-in and sign-out (placeholder until the console lands)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)
