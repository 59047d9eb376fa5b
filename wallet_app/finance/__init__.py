"""Finance: CSV exports, balances as of a date, reconciliation."""
