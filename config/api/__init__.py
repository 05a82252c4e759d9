"""The HTTP API for storefronts and players: a thin layer that parses requests, authenticates
the API key and calls the same services as the staff pages (no rule is written twice)."""
