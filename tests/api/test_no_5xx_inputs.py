"""No 5xx on any input (issue 11, item 4): each input that once raised a 500 now answers a 4xx
in the error shape, and the store's own faults a 503/507 with ``Retry-After`` that names no
path or interpreter internal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from api import create_app, db
from api.store import Store
from api.store.cursor import encode_cursor
from tests.conftest import ADMIN_TOKEN, ApiClient

RUN = "/jobs/j/runs/1"


@pytest.mark.parametrize(("path", "body"), [
    (RUN, {"status": "success", "started_at": "9999-12-31T23:59:59-14:00"}),
    (RUN, {"status": "success", "finished_at": "0001-01-01T00:00:00+14:00"}),
    ("/payloads/p", {"deadline": "0001-01-01T00:00:00+14:00"}),
    ("/payloads/p", {"deadline": "9999-12-31T23:59:59-14:00"}),
])
def test_timestamps_utc_cannot_hold_are_422(api: ApiClient, path: str,
                                            body: dict[str, object]) -> None:
    response = api.put(path, json=body)
    assert response.status_code == 422, response.json


@pytest.mark.parametrize(("path", "field"), [(RUN, "metadata"), ("/jobs/j", "settings")])
def test_a_10000_deep_array_is_400(api: ApiClient, path: str, field: str) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    raw = f'{{"status": "success", "{field}": {{"k": {deep}}}}}' if path == RUN \
        else f'{{"{field}": {{"k": {deep}}}}}'
    response = api.put(path, data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "invalid_json"


def test_brackets_inside_strings_do_not_count_as_nesting(api: ApiClient) -> None:
    response = api.put(RUN, json={"status": "success", "metadata": {"k": "[" * 100}})
    assert response.status_code == 201, response.json


def test_a_huge_integer_is_400_without_naming_interpreter_internals(api: ApiClient) -> None:
    raw = '{"expected_runs": ' + "9" * 5000 + "}"
    response = api.put("/jobs/j", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    message = json.dumps(response.json)
    assert "sys." not in message and "int_max_str_digits" not in message


def test_a_baseline_version_beyond_64_bits_is_422(api: ApiClient) -> None:
    api.put("/jobs/j", json={})
    response = api.get(f"/jobs/j/baseline?version={2**63}")
    assert response.status_code == 422, response.json


def test_a_cursor_carrying_a_1e30_integer_is_400(api: ApiClient) -> None:
    cursor = encode_cursor("jobs", [10**30])
    response = api.get(f"/jobs?cursor={cursor}")
    assert response.status_code == 400, response.json


@pytest.fixture
def full_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every store the app opens is capped at its current size (``PRAGMA max_page_count``),
    so the next write that needs a page fails with SQLITE_FULL: a full disk, portably."""
    real_open = db.open_store

    def capped(url: str, **options: object) -> Store:
        store = real_open(url, **options)
        conn = store.connection  # type: ignore[attr-defined]
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return store

    monkeypatch.setattr(db, "open_store", capped)
    yield


def test_a_full_disk_is_507_with_retry_after(api: ApiClient, full_store: None) -> None:
    tests = [{"name": f"t{i}" * 50, "status": "passed", "message": None} for i in range(2000)]
    response = api.put(RUN, json={"status": "success", "tests": tests})
    assert response.status_code == 507, response.json
    assert response.json["error"]["code"] == "insufficient_storage"
    assert int(response.headers["Retry-After"]) > 0


@pytest.fixture
def app_on_file(tmp_path: Path, database_url: str) -> tuple[Flask, Path]:
    path = Path(database_url.removeprefix("sqlite://"))
    return create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN}), path


def _answers_503_without_a_path(api: ApiClient, path: Path) -> None:
    for method, url in (("get", "/jobs"), ("put", RUN), ("get", "/healthz")):
        response = getattr(api, method)(url, **({"json": {}} if method == "put" else {}))
        assert response.status_code == 503, (url, response.json)
        assert "Retry-After" in response.headers
        assert str(path.parent) not in response.get_data(as_text=True)


def test_a_database_deleted_while_serving_is_503_and_never_recreated(
        app_on_file: tuple[Flask, Path]) -> None:
    app, path = app_on_file
    api = ApiClient(app, ADMIN_TOKEN)
    assert api.put(RUN, json={"status": "success"}).status_code == 201
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    _answers_503_without_a_path(api, path)
    assert not path.exists()


def test_a_corrupt_database_is_503(app_on_file: tuple[Flask, Path]) -> None:
    app, path = app_on_file
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not an SQLite database" * 200)
    _answers_503_without_a_path(ApiClient(app, ADMIN_TOKEN), path)


def test_an_empty_database_file_is_503(app_on_file: tuple[Flask, Path]) -> None:
    app, path = app_on_file
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.touch()  # exists, but was never initialised: "no such table"
    _answers_503_without_a_path(ApiClient(app, ADMIN_TOKEN), path)


def _forged(part: bytes) -> bytes:
    return part[:-4] + (0).to_bytes(4, "little")  # a trailer claiming 0 bytes


@pytest.mark.parametrize("forge", [False, True])
def test_a_multipart_bomb_meets_the_request_budget_whatever_its_trailer_says(
        database_url: str, forge: bool) -> None:
    import gzip
    import io

    api = ApiClient(create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
                                "MAX_DECOMPRESSED_BYTES": 3 << 20}), ADMIN_TOKEN)
    api.put(RUN, json={"status": "success"})
    # With a forged trailer the early check sees nothing; the streaming budget stops it.
    part = gzip.compress(b"<testsuites>" + b" " * (4 << 20) + b"</testsuites>")
    part = _forged(part) if forge else part
    response = api.post(f"{RUN}/junit", data={
        "file": [(io.BytesIO(part), f"f{i}.xml.gz") for i in range(2)]},
        content_type="multipart/form-data")
    assert response.status_code == 413, response.json
    assert response.json["error"]["details"]["limit"] == "MAX_DECOMPRESSED_BYTES"


def test_files_within_the_budget_together_are_accepted(database_url: str) -> None:
    import io

    from tests.conftest import junit_xml

    api = ApiClient(create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
                                "MAX_TESTCASES": 3}), ADMIN_TOKEN)
    api.put(RUN, json={"status": "success"})
    two = junit_xml([("a", "passed"), ("b", "passed")])
    ok = api.post(f"{RUN}/junit", data={"file": [(io.BytesIO(two), "one.xml")]},
                  content_type="multipart/form-data")
    assert ok.status_code == 201, ok.json
    over = api.post(f"{RUN}/junit", data={"file": [(io.BytesIO(two), "x.xml"),
                                                   (io.BytesIO(two), "y.xml")]},
                    content_type="multipart/form-data")
    assert over.status_code == 413, over.json
    assert over.json["error"]["details"]["limit"] == "MAX_TESTCASES"
