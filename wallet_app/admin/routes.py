"""Admin pages: operators and the audit log (placeholder until the console lands)."""
from .blueprint import bp  # noqa: F401
