"""Operator pages: dashboard, wallets, transactions, fund and transfer forms."""
