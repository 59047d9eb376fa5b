"""Admin pages: operators, API tokens, fees and thresholds, audit log. VIEWS are the modules
whose views the app factory puts on the admin blueprint."""

from . import fees, routes, tokens

VIEWS = (routes, tokens, fees)
