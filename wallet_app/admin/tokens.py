"""Admin pages: API tokens and the API reference (placeholder until the API lands)."""
from flask import render_template_string

from ..auth.roles import require
from .blueprint import bp


@bp.get("/tokens")
@require("manage")
def tokens():
    return render_template_string("{% extends 'base.html' %}{% block content %}API tokens{% endblock %}")


@bp.get("/api-reference")
@require("read")
def api_reference():
    return render_template_string("{% extends 'base.html' %}{% block content %}API reference{% endblock %}")
