"""Finance pages (placeholder until exports land)."""
from flask import Blueprint

bp = Blueprint("exports", __name__)
