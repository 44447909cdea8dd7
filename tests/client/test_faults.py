"""Fault shapes a real server cannot be made to produce on demand, mocked with ``responses``:
resets, 503 storms with Retry-After, 429, garbage bodies. Timeouts use a real stalled socket."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from client import errors
from client.api import DEFAULT_TIMEOUT, Client
from client.models import Verdict
from client.retry import Backoff
from tests.client.conftest import verdict_body
from tests.processes import free_port

BASE = "http://flakegate.test"
RUN_URL = f"{BASE}/jobs/e2e%20%28aws%29%2Fserial/runs/1001"
RUN: dict[str, Any] = {
    "job": "e2e (aws)/serial", "run_id": "1001", "payload": "p", "status": "success",
    "started_at": None, "finished_at": None, "url": None, "variant": {}, "metadata": {},
    "counts": {"total": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "flaked": 0},
    "files": [], "created_at": "2026-11-20T10:00:00+00:00",
    "updated_at": "2026-11-20T10:00:00+00:00"}


def error(code: str, message: str, details: object = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "details": details}}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps: Sleeps) -> Iterator[Client]:
    with Client(BASE, "fg_secret", sleep=sleeps, backoff=Backoff(base=0.5, cap=30.0)) as made:
        yield made


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_connection_reset_is_retried(client: Client, sleeps: Sleeps,
                                     mocked: responses.RequestsMock) -> None:
    reset = requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
    mocked.get(RUN_URL, body=reset)
    mocked.get(RUN_URL, body=reset)
    mocked.get(RUN_URL, json=RUN)
    assert client.get_run("e2e (aws)/serial", "1001").status == "success"
    assert len(mocked.calls) == 3 and len(sleeps) == 2
    assert all(0 <= delay <= 0.5 * 2 ** attempt for attempt, delay in enumerate(sleeps))


def test_503_storm_honours_retry_after(client: Client, sleeps: Sleeps,
                                       mocked: responses.RequestsMock) -> None:
    for _ in range(4):
        mocked.put(RUN_URL, status=503, json=error("unavailable", "store busy"),
                   headers={"Retry-After": "7"})
    mocked.put(RUN_URL, status=200, json=RUN)
    assert client.put_run("e2e (aws)/serial", "1001", status="success").run_id == "1001"
    assert len(mocked.calls) == 5
    assert [round(delay) for delay in sleeps] == [7, 7, 7, 7]


def test_retries_run_out_with_the_servers_error(client: Client, sleeps: Sleeps,
                                               mocked: responses.RequestsMock) -> None:
    mocked.get(RUN_URL, status=503, json=error("unavailable", "store busy", {"retry": True}))
    with pytest.raises(errors.ServerError) as caught:
        client.get_run("e2e (aws)/serial", "1001")
    assert len(mocked.calls) == 8  # the first try and 7 retries
    assert len(sleeps) == 7
    assert caught.value.status == 503 and caught.value.code == "unavailable"
    assert caught.value.details == {"retry": True} and caught.value.unavailable


def test_429_with_an_http_date_retry_after(client: Client, sleeps: Sleeps,
                                           mocked: responses.RequestsMock) -> None:
    mocked.get(f"{BASE}/jobs", status=429, json=error("too_many_requests", "slow down"),
               headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})  # long past
    mocked.get(f"{BASE}/jobs", json={"items": [], "next_cursor": None})
    assert list(client.list_jobs()) == []
    assert len(sleeps) == 1 and sleeps[0] < 0.5


def test_rate_limit_that_never_lifts_is_a_rate_limited_error(
        sleeps: Sleeps, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{BASE}/jobs", status=429, json=error("too_many_requests", "slow down"))
    with Client(BASE, retries=2, sleep=sleeps) as client, \
            pytest.raises(errors.RateLimited) as caught:
        list(client.list_jobs())
    assert caught.value.unavailable and len(mocked.calls) == 3


@pytest.mark.parametrize(("status", "kind"), [
    (400, errors.BadRequest), (401, errors.AuthError), (403, errors.AuthError),
    (404, errors.NotFoundError), (409, errors.Conflict), (413, errors.PayloadTooLarge),
    (422, errors.ValidationFailed), (501, errors.ServerError),
])
def test_client_errors_are_never_retried(client: Client, sleeps: Sleeps,
                                         mocked: responses.RequestsMock, status: int,
                                         kind: type[errors.ApiError]) -> None:
    mocked.put(RUN_URL, status=status, json=error("x", "refused", {"status": ["bad"]}))
    with pytest.raises(kind) as caught:
        client.put_run("e2e (aws)/serial", "1001")
    assert len(mocked.calls) == 1 and sleeps == []
    assert caught.value.status == status and caught.value.message == "refused"
    assert "status: bad" in caught.value.describe()


def test_non_idempotent_post_is_sent_once(client: Client, sleeps: Sleeps,
                                          mocked: responses.RequestsMock) -> None:
    """compute_baseline stores a new version per call: re-sending it could store two."""
    url = f"{BASE}/jobs/e2e/baselines"
    mocked.post(url, status=503, json=error("unavailable", "busy"), headers={"Retry-After": "1"})
    with pytest.raises(errors.ServerError):
        client.compute_baseline("e2e")
    mocked.replace(responses.POST, url, body=requests.ConnectionError("reset"))
    with pytest.raises(errors.ConnectionFailed) as caught:
        client.compute_baseline("e2e")
    assert caught.value.attempts == 1
    assert len(mocked.calls) == 2 and sleeps == []


def test_junit_upload_is_retried_because_the_server_dedups_it(
        client: Client, sleeps: Sleeps, mocked: responses.RequestsMock) -> None:
    url = f"{RUN_URL}/junit"
    mocked.post(url, status=502, body="<html>bad gateway</html>")
    mocked.post(url, status=201, json={"run": RUN, "files": [
        {"name": "junit.xml", "sha256": "0" * 64, "tests": 3, "added": True}]})
    result = client.upload_junit("e2e (aws)/serial", "1001", [("junit.xml", b"<testsuite/>")])
    assert result.added == 1 and result.requests == 1
    assert len(mocked.calls) == 2 and len(sleeps) == 1
    # Both attempts carried the same gzip-compressed multipart body.
    first, second = (call.request.body for call in mocked.calls)
    assert first == second and isinstance(first, bytes) and b"\x1f\x8b" in first


def test_non_json_error_page_is_reported_with_a_snippet(
        sleeps: Sleeps, mocked: responses.RequestsMock) -> None:
    mocked.get(RUN_URL, status=502, body="<html><h1>502 Bad Gateway</h1></html>",
               content_type="text/html")
    with Client(BASE, retries=0, sleep=sleeps) as client, \
            pytest.raises(errors.ServerError) as caught:
        client.get_run("e2e (aws)/serial", "1001")
    assert caught.value.code == "http_error" and "502 Bad Gateway" in caught.value.message


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"job": "x"}'])
def test_a_success_that_breaks_the_contract_is_unexpected(
        client: Client, mocked: responses.RequestsMock, body: str) -> None:
    mocked.get(RUN_URL, body=body, content_type="application/json")
    with pytest.raises(errors.UnexpectedResponse):
        client.get_run("e2e (aws)/serial", "1001")


def test_every_request_has_a_timeout_and_the_token(mocked: responses.RequestsMock) -> None:
    mocked.get(RUN_URL, json=RUN)
    mocked.put(f"{BASE}/payloads/p", json={"id": "p", "expected": {}, "deadline": None,
                                           "created_at": None, "updated_at": None})
    with Client(BASE, "fg_secret") as client:
        client.get_run("e2e (aws)/serial", "1001")
        client.put_payload("p")
    for call in mocked.calls:
        assert call.request.req_kwargs["timeout"] == DEFAULT_TIMEOUT  # type: ignore[attr-defined]
        assert call.request.headers["Authorization"] == "Bearer fg_secret"
        assert call.request.headers["User-Agent"].startswith("flakegate-client/")
    with Client(BASE) as anonymous:
        anonymous.get_run("e2e (aws)/serial", "1001")
    assert "Authorization" not in mocked.calls[-1].request.headers


@pytest.mark.parametrize(("name", "encoded"), [
    ("a/b", "a%2Fb"), ("100%", "100%25"), ("x?y#z", "x%3Fy%23z"), ("é", "%C3%A9"),
    (".", "%2E"), ("..", "%2E%2E"), ("a.b", "a.b"), ("sp ace", "sp%20ace"),
])
def test_path_segments_are_percent_encoded(mocked: responses.RequestsMock, name: str,
                                           encoded: str) -> None:
    mocked.get(f"{BASE}/jobs/{encoded}", json={
        "name": name, "variant": {}, "policy": None, "expected_runs": None, "settings": {},
        "created_at": None, "updated_at": None})
    with Client(BASE) as client:
        assert client.get_job(name).name == name
    assert mocked.calls[0].request.url == f"{BASE}/jobs/{encoded}"


def test_pages_follow_next_cursor(client: Client, mocked: responses.RequestsMock) -> None:
    job: dict[str, Any] = {"variant": {}, "policy": None, "expected_runs": None, "settings": {},
           "created_at": None, "updated_at": None}
    mocked.get(f"{BASE}/jobs", match=[matchers.query_param_matcher({"limit": "2"})],
               json={"items": [{**job, "name": "a"}, {**job, "name": "b"}], "next_cursor": "c1"})
    mocked.get(f"{BASE}/jobs", match=[matchers.query_param_matcher({"limit": "2", "cursor": "c1"})],
               json={"items": [{**job, "name": "c"}], "next_cursor": None})
    assert [j.name for j in client.list_jobs(page_size=2)] == ["a", "b", "c"]


def test_a_cursor_that_repeats_is_not_followed_forever(
        client: Client, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{BASE}/jobs", json={"items": [], "next_cursor": "same"})
    with pytest.raises(errors.UnexpectedResponse, match="same cursor"):
        list(client.list_jobs())


@pytest.fixture
def stalled_server() -> Iterator[str]:
    """Accepts connections and never answers: a real read timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def test_slow_server_times_out_and_get_is_retried(stalled_server: str, sleeps: Sleeps) -> None:
    with Client(stalled_server, timeout=0.2, retries=2, sleep=sleeps) as client, \
            pytest.raises(errors.RequestTimedOut) as caught:
        client.get_job("x")
    assert caught.value.attempts == 3 and len(sleeps) == 2 and caught.value.unavailable


def test_refused_connection_is_connection_failed(sleeps: Sleeps) -> None:
    port = free_port()  # closed again before the request: nobody listens
    with Client(f"http://127.0.0.1:{port}", retries=3, sleep=sleeps) as client, \
            pytest.raises(errors.ConnectionFailed) as caught:
        client.get_job("x")
    assert caught.value.attempts == 4 and len(sleeps) == 3
    assert "refused" in str(caught.value).lower()


@pytest.mark.parametrize("url", ["", "flakegate.example.com", "ftp://x"])
def test_a_bad_server_url_is_an_input_error(url: str) -> None:
    with pytest.raises(errors.InputError):
        Client(url)


# -- verdicts (the contract's shape; the live tests need the lead's endpoint) -------------------


VERDICT_URL = f"{BASE}/payloads/4.19.0-0.nightly-2026-11-20-101010/verdict"
PAYLOAD = "4.19.0-0.nightly-2026-11-20-101010"


def test_get_verdict_parses_the_contract(client: Client, mocked: responses.RequestsMock) -> None:
    mocked.get(VERDICT_URL, json=verdict_body("fail", regressions=2), headers={"ETag": '"v1"'})
    verdict = client.get_verdict(PAYLOAD, policy="stddev")
    assert isinstance(verdict, Verdict) and verdict.failed and verdict.etag == '"v1"'
    assert mocked.calls[0].request.params == {"policy": "stddev"}  # type: ignore[attr-defined]
    job = verdict.jobs[0]
    assert (job.runs.expected, job.runs.counted, job.baseline.version if job.baseline else None
            ) == (10, 10, 7)
    assert verdict.jobs[1].baseline is None
    assert [item.p_value for _, item in verdict.regressions] == [1.2e-9, 1.2e-9]
    assert job.notes == {"new_test": 2, "did_not_run": 1}


def test_get_verdict_markdown(client: Client, mocked: responses.RequestsMock) -> None:
    mocked.get(VERDICT_URL, body="## fail\n", content_type="text/markdown",
               match=[matchers.query_param_matcher({"format": "markdown"})])
    assert client.get_verdict(PAYLOAD, format="markdown") == "## fail\n"


def test_unknown_verdict_value_is_unexpected(client: Client,
                                             mocked: responses.RequestsMock) -> None:
    mocked.get(VERDICT_URL, json={**verdict_body("pass"), "verdict": "maybe"})
    with pytest.raises(errors.UnexpectedResponse):
        client.get_verdict(PAYLOAD)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_polls_with_etags_until_decided(mocked: responses.RequestsMock) -> None:
    clock = FakeClock()
    mocked.get(VERDICT_URL, status=404, json=error("not_found", "no such payload"))
    mocked.get(VERDICT_URL, json=verdict_body("pending", finished=4), headers={"ETag": '"a"'})
    mocked.get(VERDICT_URL, status=304, headers={"ETag": '"a"'})
    mocked.get(VERDICT_URL, json=verdict_body("fail"), headers={"ETag": '"b"'})
    polls: list[tuple[str | None, float]] = []

    def record(latest: Verdict | None, waited: float) -> None:
        polls.append((latest.verdict if latest else None, waited))

    with Client(BASE, sleep=clock.sleep, clock=clock) as client:
        verdict = client.wait_for_verdict(PAYLOAD, timeout=600, poll=30, on_poll=record)
    assert verdict.failed
    assert polls == [(None, 0.0), ("pending", 30.0), ("pending", 60.0)]
    sent = [call.request.headers.get("If-None-Match") for call in mocked.calls]
    assert sent == [None, None, '"a"', '"a"']


def test_wait_times_out_pending(mocked: responses.RequestsMock) -> None:
    clock = FakeClock()
    mocked.get(VERDICT_URL, json=verdict_body("pending", finished=4))
    with Client(BASE, sleep=clock.sleep, clock=clock) as client, \
            pytest.raises(errors.VerdictPending) as caught:
        client.wait_for_verdict(PAYLOAD, timeout=100, poll=30)
    assert caught.value.verdict is not None and caught.value.verdict.pending
    assert clock.now == 100  # the last sleep is cut to the deadline, not a whole poll
    assert len(mocked.calls) == 5  # at 0, 30, 60, 90 and 100 s


def test_wait_waits_out_a_payload_that_never_appeared(mocked: responses.RequestsMock) -> None:
    clock = FakeClock()
    mocked.get(VERDICT_URL, status=404, json=error("not_found", "no such payload"))
    with Client(BASE, sleep=clock.sleep, clock=clock) as client, \
            pytest.raises(errors.VerdictPending) as caught:
        client.wait_for_verdict(PAYLOAD, timeout=60, poll=30)
    assert caught.value.verdict is None and clock.now == 60
    assert len(mocked.calls) == 3  # at 0, 30 and 60 s: polled like a pending verdict
    assert "unknown to the server" in str(caught.value)


def test_wait_picks_up_a_payload_once_its_first_run_appears(
        mocked: responses.RequestsMock) -> None:
    clock = FakeClock()
    mocked.get(VERDICT_URL, status=404, json=error("not_found", "no such payload"))
    mocked.get(VERDICT_URL, json=verdict_body("pass"))
    with Client(BASE, sleep=clock.sleep, clock=clock) as client:
        assert client.wait_for_verdict(PAYLOAD, timeout=600, poll=30).passed
    assert clock.now == 30


def test_wait_outlasts_an_outage_shorter_than_the_timeout(mocked: responses.RequestsMock) -> None:
    clock = FakeClock()
    mocked.get(VERDICT_URL, json=verdict_body("pending", finished=4))
    mocked.get(VERDICT_URL, body=requests.ConnectionError("refused"))
    mocked.get(VERDICT_URL, json=verdict_body("pass"))
    with Client(BASE, retries=0, sleep=clock.sleep, clock=clock) as client:
        assert client.wait_for_verdict(PAYLOAD, timeout=120, poll=30).passed
    assert len(mocked.calls) == 3


def test_wait_reports_a_server_unavailable_from_the_start_at_once(
        mocked: responses.RequestsMock) -> None:
    clock = FakeClock()
    mocked.get(VERDICT_URL, body=requests.ConnectionError("refused"))
    with Client(BASE, retries=0, sleep=clock.sleep, clock=clock) as client, \
            pytest.raises(errors.ConnectionFailed):
        client.wait_for_verdict(PAYLOAD, timeout=7200, poll=30)
    assert clock.now == 0


def test_wait_does_not_wait_out_a_bad_token(mocked: responses.RequestsMock) -> None:
    clock = FakeClock()
    mocked.get(VERDICT_URL, status=401, json=error("unauthorized", "bad token"))
    with Client(BASE, sleep=clock.sleep, clock=clock) as client, \
            pytest.raises(errors.AuthError):
        client.wait_for_verdict(PAYLOAD, timeout=600, poll=30)
    assert clock.now == 0


def test_timeout_zero_looks_once(mocked: responses.RequestsMock) -> None:
    mocked.get(VERDICT_URL, json=verdict_body("pending", finished=1))
    with Client(BASE) as client, pytest.raises(errors.VerdictPending):
        client.wait_for_verdict(PAYLOAD, timeout=0, poll=30)
    assert len(mocked.calls) == 1
