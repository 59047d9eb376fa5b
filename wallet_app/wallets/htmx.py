"""One place decides whether a response is a whole page or the fragment htmx asked for."""

from flask import make_response, render_template, request


def wants_fragment() -> bool:
    """htmx asked for a piece of the page; boosted navigation and history restores get it whole."""
    hx = request.htmx
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def focus_attribute() -> str:
    """How a step names the control that takes the focus. A whole page uses `autofocus`. A
    fragment uses `data-autofocus`, focused by static/js/app.js when htmx loads it: Chromium
    also honours `autofocus` on inserted elements, late, and can take the focus back after
    the operator has moved on."""
    return "data-autofocus" if wants_fragment() else "autofocus"


def respond(template: str, status: int = 200, **context):
    """Render `template`; the answer depends on HX-Request, so caches must key on it."""
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def render(page_template: str, fragment_template: str, status: int = 200, **context):
    return respond(fragment_template if wants_fragment() else page_template, status, **context)
