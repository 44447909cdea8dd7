"""Build logs over HTTP: PUT (plain or gzip), GET (whole or a line range), the listing."""

from __future__ import annotations

import gzip

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from api import create_app
from api.services import logs as log_service
from api.services.logs import LogStored
from api.store import Store
from tests.conftest import ADMIN_TOKEN, ApiClient

RUN = "/jobs/unit/runs/42"
LOG = f"{RUN}/logs/build"
TEXT = b"\x1b[32mok\x1b[0m   pkg/a\r\n\x1b[31m--- FAIL: TestX (0.01s)\x1b[0m\nFAIL\tpkg/b\n"


def put_run(api: ApiClient) -> None:
    assert api.put(RUN, json={"status": "failure"}).status_code == 201


def put_text(api: ApiClient, body: bytes, path: str = LOG, **headers: str) -> TestResponse:
    return api.put(path, data=body, headers={"Content-Type": "text/plain", **headers})


def test_a_log_is_stored_stripped_and_read_back_whole_or_by_lines(api: ApiClient) -> None:
    put_run(api)
    first = put_text(api, TEXT)
    assert first.status_code == 201 and first.json["outcome"] == "created"
    assert first.json["lines"] == 3 and first.json["truncated"] is False
    assert first.json["received_bytes"] == len(TEXT) and first.json["source"] == "api"
    got = api.get(LOG)
    assert got.status_code == 200 and got.mimetype == "text/plain"
    assert got.get_data(as_text=True) == "ok   pkg/a\n--- FAIL: TestX (0.01s)\nFAIL\tpkg/b\n"
    assert got.headers["X-Flakegate-Log-Lines"] == "3"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["ETag"].strip('"') == first.json["sha256"]
    assert api.get(f"{LOG}?lines=2-3").get_data(as_text=True) == \
        "--- FAIL: TestX (0.01s)\nFAIL\tpkg/b\n"
    assert api.get(f"{LOG}?lines=2").get_data(as_text=True) == "--- FAIL: TestX (0.01s)\n"
    assert api.get(f"{LOG}?lines=9-12").get_data(as_text=True) == ""
    for bad in ("0-2", "3-2", "a-b", "-1", "1-", "1-2-3"):
        refused = api.get(f"{LOG}?lines={bad}")
        assert refused.status_code == 422 and "lines" in refused.json["error"]["details"]


def test_resending_is_unchanged_and_another_text_replaces(api: ApiClient) -> None:
    put_run(api)
    put_text(api, TEXT)
    again = put_text(api, TEXT)
    assert again.status_code == 200 and again.json["outcome"] == "unchanged"
    other = put_text(api, b"second\n")
    assert other.status_code == 200 and other.json["outcome"] == "updated"
    assert api.get(LOG).get_data() == b"second\n"


def test_gzip_is_accepted_by_encoding_by_type_and_by_magic(api: ApiClient) -> None:
    put_run(api)
    packed = gzip.compress(TEXT)
    by_encoding = put_text(api, packed, **{"Content-Encoding": "gzip"})
    assert by_encoding.status_code == 201
    by_type = api.put(f"{RUN}/logs/unit", data=packed,
                      headers={"Content-Type": "application/gzip"})
    assert by_type.status_code == 201 and by_type.json["sha256"] == by_encoding.json["sha256"]
    by_magic = put_text(api, packed, path=f"{RUN}/logs/e2e")
    assert by_magic.json["sha256"] == by_encoding.json["sha256"]
    bad = put_text(api, b"\x1f\x8bnot gzip", path=f"{RUN}/logs/x")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_encoding"


def test_the_listing_names_every_step(api: ApiClient) -> None:
    put_run(api)
    assert api.get(f"{RUN}/logs").json == {"items": []}
    for step in ("unit", "build"):
        put_text(api, TEXT, path=f"{RUN}/logs/{step}")
    items = api.get(f"{RUN}/logs").json["items"]
    assert [item["step"] for item in items] == ["build", "unit"]
    assert all(item["lines"] == 3 for item in items)


def test_unknown_runs_steps_and_bad_requests_answer_in_the_envelope(api: ApiClient) -> None:
    missing = put_text(api, TEXT)
    assert missing.status_code == 404 and "PUT the run" in missing.json["error"]["message"]
    assert api.get(LOG).status_code == 404
    assert api.get(f"{RUN}/logs").status_code == 404
    put_run(api)
    no_step = api.get(f"{RUN}/logs/none")
    assert no_step.status_code == 404 and "no log for step" in no_step.json["error"]["message"]
    form = api.put(LOG, data=TEXT, headers={"Content-Type": "application/json"})
    assert form.status_code == 415 and form.json["error"]["code"] == "unsupported_media_type"
    brotli = put_text(api, TEXT, **{"Content-Encoding": "br"})
    assert brotli.status_code == 415
    bad_step = put_text(api, TEXT, path=f"{RUN}/logs/a%09b")
    assert bad_step.status_code == 422 and "step" in bad_step.json["error"]["details"]


def test_reading_needs_read_scope_and_writing_write_scope(api: ApiClient,
                                                          tokens: dict[str, str]) -> None:
    put_run(api)
    put_text(api, TEXT)
    reader = api.as_token(tokens["read"])
    assert reader.get(LOG).status_code == 200
    assert put_text(reader, TEXT).status_code == 403
    assert put_text(api.as_token(tokens["write"]), b"new\n").status_code == 200
    assert put_text(api.as_token(None), TEXT).status_code == 401


def test_limits_bound_the_stored_log_and_the_inflated_bytes(database_url: str) -> None:
    app: Flask = create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
                             "MAX_LOG_BYTES": 10_000, "MAX_DECOMPRESSED_BYTES": 100_000})
    api = ApiClient(app, ADMIN_TOKEN)
    put_run(api)
    lines = b"".join(b"line %06d\n" % n for n in range(5000))  # 60,000 bytes
    cut = put_text(api, gzip.compress(lines))
    assert cut.status_code == 201 and cut.json["truncated"] is True
    assert cut.json["received_bytes"] == len(lines) and cut.json["omitted_bytes"] > 40_000
    text = api.get(LOG).get_data(as_text=True)
    assert text.startswith("line 000000\n") and text.endswith("line 004999\n")
    assert "MAX_LOG_BYTES" in text
    bomb = put_text(api, gzip.compress(b"\n" * 200_000))
    assert bomb.status_code == 413 and bomb.json["error"]["code"] == "too_large"
    assert bomb.json["error"]["details"]["limit"] == "MAX_DECOMPRESSED_BYTES"


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> list[LogStored]:
    events: list[LogStored] = []

    def listener(store: Store, event: LogStored) -> None:
        assert store.logs.get_log(event.job, event.run_id, event.step) is not None
        events.append(event)

    monkeypatch.setattr(log_service, "on_log_stored", [listener])
    return events


def test_listeners_hear_of_each_new_content_once(api: ApiClient, heard: list[LogStored]) -> None:
    put_run(api)
    put_text(api, TEXT)
    put_text(api, TEXT)
    put_text(api, b"other\n")
    assert [(e.step, e.outcome.value, e.info.lines) for e in heard] == [
        ("build", "created", 3), ("build", "updated", 1)]
