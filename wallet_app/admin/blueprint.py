"""The admin blueprint: operators and the audit log (routes.py), API tokens (tokens.py), fees (fees.py)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)
