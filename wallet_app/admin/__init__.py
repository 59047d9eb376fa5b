"""Admin pages: operators, API tokens, audit log."""
