"""The pages' frame without a browser: headers, sign-in and sign-out, CSRF, safe redirects,
the session cookie, revoked tokens, public read, and the start-up rule for the secret key."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from api import create_app
from api.auth import hash_token
from api.config import ConfigError, check_pages_config
from api.store import open_store
from api.ui import session as ui_session
from api.ui.charts import chart
from api.ui.security import CSP
from client.cli import main
from client.exit_status import ExitStatus
from tests.conftest import ADMIN_TOKEN
from tests.ui.frame_helpers import SECRET, csrf_of, page_app, sign_in


@pytest.fixture
def pages(database_url: str) -> Flask:
    return page_app(database_url)


def test_the_root_leads_to_the_pages_and_pages_carry_their_headers(pages: Flask) -> None:
    client = pages.test_client()
    root = client.get("/")
    assert root.status_code == 302 and root.headers["Location"] == "/ui/"
    for path in ("/ui/login", "/ui/static/flakegate.css", "/ui/static/charts.js"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["Content-Security-Policy"] == CSP
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
    assert "frame-ancestors 'none'" in CSP and "form-action 'self'" in CSP
    assert client.get("/healthz").headers.get("Content-Security-Policy") is None  # the API


def test_a_reader_not_signed_in_is_sent_to_the_form_and_back(pages: Flask) -> None:
    client = pages.test_client()
    answer = client.get("/ui/?cursor=x")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/ui/login?next=%2Fui%2F%3Fcursor%3Dx"
    signed = sign_in(client, ADMIN_TOKEN, "/ui/?cursor=x")
    assert signed.status_code == 303 and signed.headers["Location"] == "/ui/?cursor=x"


@pytest.mark.parametrize("target", ["https://evil.example/ui/", "//evil.example/ui/",
                                    "/\\evil.example", "/jobs", "javascript:alert(1)",
                                    "/ui\r\nLocation: https://evil.example", ""])
def test_signing_in_never_redirects_off_the_pages(pages: Flask, target: str) -> None:
    answer = sign_in(pages.test_client(), ADMIN_TOKEN, target)
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/"
    assert ui_session.safe_next(target) == "/ui/"


def test_the_session_cookie_is_signed_http_only_lax_and_holds_no_token(pages: Flask) -> None:
    client = pages.test_client()
    answer = sign_in(client, ADMIN_TOKEN)
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("flakegate_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    assert ADMIN_TOKEN not in cookie
    assert ADMIN_TOKEN not in client.get("/ui/").get_data(as_text=True)


def test_the_cookie_is_secure_over_https_and_behind_a_trusted_proxy_only(
        database_url: str) -> None:
    https = page_app(database_url).test_client()
    form = https.get("/ui/login", base_url="https://gate.example")
    answer = https.post("/ui/login", base_url="https://gate.example",
                        data={"csrf": csrf_of(form.get_data(as_text=True)),
                              "token": ADMIN_TOKEN})
    assert "Secure" in answer.headers["Set-Cookie"]
    proxied = {"X-Forwarded-Proto": "https"}
    for trust, secure in ((False, False), (True, True)):
        client = page_app(database_url, TRUST_PROXY=trust).test_client()
        form = client.get("/ui/login", headers=proxied)
        answer = client.post("/ui/login", headers=proxied,
                             data={"csrf": csrf_of(form.get_data(as_text=True)),
                                   "token": ADMIN_TOKEN})
        assert ("Secure" in answer.headers["Set-Cookie"]) is secure, trust


def test_a_wrong_token_is_refused_without_being_shown_back(pages: Flask) -> None:
    answer = sign_in(pages.test_client(), "fg_wrong-token-of-some-length-1234567890")
    assert answer.status_code == 401
    text = answer.get_data(as_text=True)
    assert "not valid" in text and "fg_wrong-token" not in text
    assert sign_in(pages.test_client(), "x" * 10_000).status_code == 401


def test_forms_without_the_sessions_csrf_token_are_refused(pages: Flask) -> None:
    client = pages.test_client()
    client.get("/ui/login")
    answer = client.post("/ui/login", data={"csrf": "forged", "token": ADMIN_TOKEN})
    assert answer.status_code == 403 and "form has expired" in answer.get_data(as_text=True)
    assert pages.test_client().post("/ui/login", data={"token": ADMIN_TOKEN}).status_code == 403
    sign_in(client, ADMIN_TOKEN)
    assert client.post("/ui/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/ui/").status_code == 200  # still signed in


def test_signing_out_ends_the_session(pages: Flask) -> None:
    client = pages.test_client()
    sign_in(client, ADMIN_TOKEN)
    home = client.get("/ui/")
    assert home.status_code == 200 and "Sign out" in home.get_data(as_text=True)
    out = client.post("/ui/logout", data={"csrf": csrf_of(home.get_data(as_text=True))})
    assert out.status_code == 303 and out.headers["Location"] == "/ui/login"
    assert client.get("/ui/").status_code == 302


def test_a_revoked_token_loses_its_session(pages: Flask, database_url: str,
                                           tokens: dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui_session, "IDENTITY_TTL_S", 0.0)  # no grace: checked every request
    client = pages.test_client()
    assert sign_in(client, tokens["read"]).status_code == 303
    assert client.get("/ui/").status_code == 200
    store = open_store(database_url)
    found = store.find_token(hash_token(tokens["read"]))
    assert found is not None
    from datetime import UTC, datetime

    store.revoke_token(found.id, actor="test", at=datetime.now(UTC))
    store.close()
    answer = client.get("/ui/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/ui/login")


def test_public_read_opens_the_pages_without_signing_in(database_url: str) -> None:
    client = page_app(database_url, PUBLIC_READ=True).test_client()
    answer = client.get("/ui/")
    assert answer.status_code == 200 and "Sign in" in answer.get_data(as_text=True)


def test_without_a_secret_key_signing_in_is_off_and_said_so(database_url: str) -> None:
    client = create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN}).test_client()
    assert "Signing in is off" in client.get("/ui/login").get_data(as_text=True)
    assert client.post("/ui/login", data={"token": ADMIN_TOKEN}).status_code == 503
    assert client.get("/ui/").status_code == 302


def test_serving_the_pages_needs_a_long_secret_key_or_public_read(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FLAKEGATE_SECRET_KEY is required"):
        check_pages_config({"SECRET_KEY": None, "PUBLIC_READ": False})
    with pytest.raises(ConfigError, match="at least 32"):
        check_pages_config({"SECRET_KEY": "short", "PUBLIC_READ": True})
    check_pages_config({"SECRET_KEY": None, "PUBLIC_READ": True})
    check_pages_config({"SECRET_KEY": SECRET, "PUBLIC_READ": False})
    monkeypatch.delenv("FLAKEGATE_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLAKEGATE_PUBLIC_READ", raising=False)
    assert main(["serve", "--port", "1", "--db", f"sqlite:///{tmp_path}/x.db"]) \
        == ExitStatus.ERROR
    assert "FLAKEGATE_SECRET_KEY is required" in capsys.readouterr().err


def test_a_chart_carries_one_value_per_x() -> None:
    spec = chart("c", "T", x_label="day", x=["a", "b"], series=[("runs", [1, None])])
    assert spec["x_text"] == ["a", "b"] and spec["series"][0]["values"] == [1, None]
    with pytest.raises(ValueError, match="one value per x"):
        chart("c", "T", x_label="day", x=["a"], series=[("runs", [1, 2])])


def test_links_back_to_a_page_keep_an_encoded_slash(pages: Flask) -> None:
    # A job named "a/b" is the one segment a%2Fb: the sign-in's way back must keep it so.
    answer = pages.test_client().get("/ui/jobs/a%2Fb/runs/1/log?step=x")
    assert answer.headers["Location"] == "/ui/login?next=%2Fui%2Fjobs%2Fa%252Fb%2Fruns%2F1%2Flog" \
                                         "%3Fstep%3Dx"
