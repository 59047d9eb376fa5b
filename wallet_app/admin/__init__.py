"""Admin pages: operators, API tokens, webhooks, fees and thresholds, audit log. VIEWS are the modules
whose views the app factory puts on the admin blueprint."""

from . import fees, routes, tokens, webhooks

VIEWS = (routes, tokens, webhooks, fees)
