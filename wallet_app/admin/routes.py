"""Admin pages (placeholder until the console lands)."""
from flask import Blueprint

bp = Blueprint("admin", __name__)
