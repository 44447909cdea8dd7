"""Marshmallow schemas: every request body and query is loaded, and every response dumped, here."""
