"""The HTTP API for storefronts and players: API keys and their pages, idempotent retries, the
reference PPV API (reference 004), the JSON API and its OpenAPI document.

The one app that depends on all others (catalog, buyers, purchases): it parses requests,
authenticates the key and calls the same services and selectors as the staff pages, so no rule
is written twice. Nothing below imports it.
"""
