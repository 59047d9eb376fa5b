"""JSON API v1 for integrations."""
