"""Shared fixtures: apps built on temp files, tokens of each scope, a contract-checking client."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from api import create_app
from api.auth import hash_token, new_token
from api.domain import Scope
from api.store import open_store
from tests.github_double import GitHubDouble
from tests.openapi_validation import check_response

DATA = Path(__file__).resolve().parent / "data"
ADMIN_TOKEN = "fg_test-admin-token-long-enough-for-the-32-char-rule"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'flakegate.db'}"
    store = open_store(url)
    store.migrate()
    store.close()
    return url


@pytest.fixture
def app(database_url: str) -> Flask:
    return create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN})


@pytest.fixture
def tokens(database_url: str) -> dict[str, str]:
    """One freshly minted token per scope, stored hashed like ``flakegate token create``."""
    store = open_store(database_url)
    minted = {}
    for scope in Scope:
        token = new_token()
        store.add_token(hash_token(token), scope, f"test-{scope.value}")
        minted[scope.value] = token
    store.close()
    return minted


class ApiClient:
    """The Flask test client, authenticated, checking every response against openapi.yaml."""

    def __init__(self, app: Flask, token: str | None) -> None:
        self.app = app
        self.client = app.test_client()
        self.token = token

    def as_token(self, token: str | None) -> ApiClient:
        return ApiClient(self.app, token)

    def request(self, method: str, path: str, *, check: bool = True,
                **kwargs: Any) -> TestResponse:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        if check:
            check_response(method, path, response.status_code,
                           response.headers.get("Content-Type", ""), response.get_data())
        return response

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def post_junit(self, job_path: str, xml: bytes, *, filename: str = "junit.xml",
                   gzipped: bool = False) -> TestResponse:
        headers = {"Content-Type": "application/xml"}
        if gzipped:
            xml = gzip.compress(xml)
            headers["Content-Encoding"] = "gzip"
        return self.post(f"{job_path}/junit?filename={filename}", data=xml, headers=headers)


@pytest.fixture
def api(app: Flask) -> ApiClient:
    return ApiClient(app, ADMIN_TOKEN)


def junit_xml(cases: list[tuple[str, str]], suite: str = "unit") -> bytes:
    """A small JUnit file of (name, outcome) cases; outcome is passed/failed/skipped/error."""
    body = []
    for name, outcome in cases:
        inner = {"passed": "", "failed": '<failure message="boom">trace</failure>',
                 "skipped": "<skipped/>", "error": '<error message="crash"/>'}[outcome]
        body.append(f'<testcase classname="{suite}" name="{name}" time="0.1">{inner}</testcase>')
    return (f'<?xml version="1.0"?><testsuite name="{suite}" tests="{len(cases)}">'
            + "".join(body) + "</testsuite>").encode()


# --- GitHub double (issue 14) -----------------------------------------------------------------
@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    """A GitHub double on loopback (tests/github_double.py). Any request flakegate sent that
    GitHub's description does not allow, or any answer of the double that it does not allow,
    fails the test here."""
    double = GitHubDouble().start()
    yield double
    double.stop()
    assert not double.violations, "requests GitHub would not accept:\n" + "\n".join(
        double.violations[:20])
