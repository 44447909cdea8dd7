"""Which parts of a request line the access log masks (the live check is in
test_http_edges_live.py)."""

from __future__ import annotations

import pytest

from api.serving.redact import MASK, redact_query, redact_uri


@pytest.mark.parametrize(("query", "expected"), [
    ("", ""),
    ("page=2", "page=2"),
    ("access_token=s", f"access_token={MASK}"),
    ("ACCESS_TOKEN=s&limit=5", f"ACCESS_TOKEN={MASK}&limit=5"),
    ("Token=s&api_key=k&apiKey=k", f"Token={MASK}&api_key={MASK}&apiKey={MASK}"),
    ("github_token=s&client_secret=c", f"github_token={MASK}&client_secret={MASK}"),
    ("access%5Ftoken=s", f"access%5Ftoken={MASK}"),  # a percent-encoded name is still a name
    ("token", "token"),  # no value, nothing to hide
    ("tokens_seen=3&keyword=x", "tokens_seen=3&keyword=x"),
])
def test_redact_query(query: str, expected: str) -> None:
    assert redact_query(query) == expected


def test_redact_uri_keeps_the_path() -> None:
    assert redact_uri("/jobs/a?token=s&x=1") == f"/jobs/a?token={MASK}&x=1"
    assert redact_uri("http://h/p?api_key=k#f") == f"http://h/p?api_key={MASK}#f"
    assert redact_uri("/jobs/token=s") == "/jobs/token=s"
