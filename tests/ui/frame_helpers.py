"""Test helpers for the pages without a browser: an app with signing on, and signing in
through the form with its CSRF token, as a browser would."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from tests.conftest import ADMIN_TOKEN

SECRET = "ui-test-secret-key-long-enough-for-the-rule"


def page_app(database_url: str, **overrides: Any) -> Flask:
    return create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
                       "SECRET_KEY": SECRET, **overrides})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def sign_in(client: FlaskClient, token: str, next_page: str = "/ui/") -> Any:
    form = client.get("/ui/login")
    return client.post("/ui/login", data={"csrf": csrf_of(form.get_data(as_text=True)),
                                          "token": token, "next": next_page})
