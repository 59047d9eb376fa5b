"""Finance pages: exports and reconciliation (placeholder until exports land)."""
from flask import Blueprint, render_template_string

from ..auth.roles import require

bp = Blueprint("exports", __name__)


@bp.get("/exports")
@require("export")
def index():
    return render_template_string("{% extends 'base.html' %}{% block content %}Exports{% endblock %}")


@bp.get("/reconcile")
@require("reconcile")
def reconcile():
    return render_template_string("{% extends 'base.html' %}{% block content %}Reconcile{% endblock %}")
