"""Operator pages: dashboard, wallets, transactions, fund and transfer forms. VIEWS are the
modules whose views the app factory puts on the wallets blueprint."""

from . import batches, find, holds, manage, notes, routes, transactions

VIEWS = (routes, find, holds, manage, notes, transactions, batches)
