"""Finance: CSV exports, balances as of a date, reconciliation, exchange rates. VIEWS are the
modules whose views the app factory puts on the finance blueprint."""

from . import rates, routes, statements

VIEWS = (routes, rates, statements)
