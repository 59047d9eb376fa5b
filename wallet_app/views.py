"""A module's routes and blueprint hooks, written with decorators where the views are and added
to its package's blueprint by the app factory (`Views.into`): a route module is imported for
what it holds, never for the side effect of registering itself."""

from flask import Blueprint


class Views:
    """Records `@views.get(...)`, `@views.post(...)`, `@views.route(...)` and any other
    decorator a Blueprint offers (`app_template_filter`, `app_context_processor`, ...), to
    replay them on a blueprint, in order."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, tuple | None, object]] = []  # method, (args, kwargs) or None, function

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)
        if method in _TAKES_THE_FUNCTION:  # @views.app_context_processor, no parentheses
            return lambda f: self._record(method, None, f)

        def record(*args, **kwargs):
            return lambda f: self._record(method, (args, kwargs), f)

        return record

    def _record(self, method: str, call, f):
        self._calls.append((method, call, f))
        return f

    def into(self, bp: Blueprint) -> Blueprint:
        for method, call, f in self._calls:
            if call is None:
                getattr(bp, method)(f)
            else:
                getattr(bp, method)(*call[0], **call[1])(f)
        return bp


# Blueprint decorators applied to the function itself, not called with options first.
_TAKES_THE_FUNCTION = frozenset(
    {
        "before_request",
        "after_request",
        "teardown_request",
        "context_processor",
        "url_value_preprocessor",
        "url_defaults",
        "before_app_request",
        "after_app_request",
        "teardown_app_request",
        "app_context_processor",
        "app_url_value_preprocessor",
        "app_url_defaults",
    }
)


def blueprint(name: str, import_name: str, *modules) -> Blueprint:
    """A blueprint named `name` carrying the views of `modules` (each has a `views`)."""
    bp = Blueprint(name, import_name)
    for module in modules:
        module.views.into(bp)
    return bp
