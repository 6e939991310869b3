"""Helpers for tests that talk to the site through Django's test client."""

# What htmx adds to every request it makes: the views answer with a partial instead of the page.
HTMX = {"HTTP_HX_REQUEST": "true"}
