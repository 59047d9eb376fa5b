"""Services: every wallet rule, one database transaction per write operation."""
