"""The pages' content without a browser (Flask's test client): the payload page on the demo,
escaping of whatever users named, the bounded log page, the admin forms' checks, and HTML
error pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from api import pages_urls
from api.demo import DemoSummary, load_demo
from api.domain import Payload, RunSpec, RunStatus, TestResult, TestStatus
from api.services import logs
from api.services.junit_upload import Limits
from api.store import open_store
from api.ui import views_log
from tests.conftest import ADMIN_TOKEN
from tests.ui.frame_helpers import csrf_of, page_app, sign_in
from tests.ui.pages import demo_run_id

LIMITS = Limits(decompressed_bytes=10**8, testcases=10**6, parts=200)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DemoSummary]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'demo.db'}"
    store = open_store(url)
    store.migrate()
    demo = load_demo(store)
    store.close()
    yield url, demo


@pytest.fixture
def admin(demo_db: tuple[str, DemoSummary]) -> FlaskClient:
    client = page_app(demo_db[0]).test_client()
    sign_in(client, ADMIN_TOKEN)
    return client


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_payload_page_shows_what_regressed_and_why_runs_failed(
        admin: FlaskClient, demo_db: tuple[str, DemoSummary]) -> None:
    _url, demo = demo_db
    answer = admin.get(pages_urls.payload_page(demo.payload))
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    text = text_of(html)
    assert demo.regressed_test in text and "Regressions: 1" in text
    assert "failed all 10 runs" in text  # the evidence's reason
    # The regression's history strip links to the test's page; the evidence columns are there.
    test_url = pages_urls.page_for_test(demo.regressed_job, "openshift-tests", demo.regressed_test)
    assert f'href="{test_url}"' in html and 'class="strip"' in html
    for column in ("Baseline pass rate", "Allowed failures", "p-value", "Reason"):
        assert column in text
    # Runs link to CI; a classified failure links to its decisive line in the log page.
    assert 'href="https://prow.example.invalid/view/' in html
    assert re.search(r'href="/ui/jobs/[^"]+/log\?step=[^"&]+&amp;line=\d+#L\d+"', html)
    assert "excused" in text and "Disruption and alerts" in text


def test_a_payload_without_baseline_says_so_and_names_are_escaped(database_url: str) -> None:
    store = open_store(database_url)
    job, name = "<script>alert('job')</script>", "<img src=x onerror=alert(1)>"
    now = datetime.now(UTC)
    store.put_run(RunSpec(job=job, run_id="r1", status=RunStatus.FAILURE, payload="p<1>",
                          started_at=now, url="javascript:alert(2)"),
                  [TestResult(name=name, suite="s", status=TestStatus.FAILED)])
    store.put_payload(Payload(id="p<1>", expected={job: 1}))
    store.close()
    client = page_app(database_url, PUBLIC_READ=True).test_client()
    html = client.get(pages_urls.payload_page("p<1>")).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;job&#39;)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html  # a stored URL that is not http(s) is no link
    assert "no_baseline" in html
    home = client.get("/ui/").get_data(as_text=True)
    assert "<script>alert" not in home and "p&lt;1&gt;" in home


def test_an_unknown_payload_is_a_404_page(admin: FlaskClient) -> None:
    answer = admin.get("/ui/payloads/no-such-payload")
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "no payload" in answer.get_data(as_text=True)


def test_the_log_page_renders_a_window_around_the_linked_line(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views_log, "WINDOW", 100)
    store = open_store(database_url)
    store.put_run(RunSpec(job="j/k", run_id="7", status=RunStatus.FAILURE))
    body = "".join(f"line {n} <b>\n" for n in range(1, 1001)).encode()
    logs.put_log(store, "j/k", "7", "e2e", body, limits=LIMITS)
    logs.put_log(store, "j/k", "7", "setup", b"ok\n", limits=LIMITS)
    store.close()
    client = page_app(database_url, PUBLIC_READ=True).test_client()
    html = client.get(pages_urls.log_page("j/k", "7", 900, step="e2e")).get_data(as_text=True)
    assert 'id="L900"' in html and 'class="line target" id="L900"' in html
    assert 'id="L1"' not in html and "line 900 &lt;b&gt;" in html
    assert html.count('class="n"') == 100 and "earlier lines" in html and "later lines" in html
    later = client.get("/ui/jobs/j%2Fk/runs/7/log?step=e2e&from=951").get_data(as_text=True)
    # The last window is a full one: the 100 lines before the end.
    assert 'id="L1000"' in later and 'id="L901"' in later and 'id="L900"' not in later
    # No step: the failed one, taken as the log stored last (setup here).
    assert "Step <code>setup</code>" in client.get("/ui/jobs/j%2Fk/runs/7/log").get_data(
        as_text=True)
    assert client.get("/ui/jobs/j%2Fk/runs/7/log?step=nope").status_code == 404
    # "²".isdigit() is True but int("²") raises: a line number is ASCII digits only.
    for odd in ("line", "from"):
        assert client.get(f"/ui/jobs/j%2Fk/runs/7/log?step=e2e&{odd}=%C2%B2").status_code == 200
    assert client.get("/ui/jobs/j%2Fk/runs/8/log").status_code == 404


def test_admin_forms_need_the_admin_scope_and_the_csrf_token(
        demo_db: tuple[str, DemoSummary], tokens: dict[str, str]) -> None:
    url, _demo = demo_db
    store = open_store(url)
    from api.auth import hash_token, new_token
    from api.domain import Scope

    write = new_token()
    store.add_token(hash_token(write), Scope.WRITE, "pages-test")
    store.close()
    client = page_app(url).test_client()
    sign_in(client, write)
    page = client.get("/ui/patterns").get_data(as_text=True)
    assert "New pattern" not in page  # no form for a non-admin
    csrf = csrf_of(page)  # the sign-out form's token
    refused = client.post("/ui/patterns", data={"csrf": csrf, "expression": "x"})
    assert refused.status_code == 403 and "scope &#39;admin&#39;" in refused.get_data(as_text=True)
    assert client.post("/ui/breakages", data={"csrf": csrf, "cause": "c"}).status_code == 403
    anonymous = page_app(url, PUBLIC_READ=True).test_client()
    assert anonymous.post("/ui/patterns", data={"expression": "x"}).status_code == 401


def test_admin_forms_create_through_the_audited_services(admin: FlaskClient,
                                                          demo_db: tuple[str, DemoSummary]
                                                          ) -> None:
    csrf = csrf_of(admin.get("/ui/patterns").get_data(as_text=True))
    assert admin.post("/ui/patterns", data={"expression": "x"}).status_code == 403  # no csrf
    bad = admin.post("/ui/patterns", data={"csrf": csrf, "expression": "(", "syntax": "regex"})
    assert bad.status_code == 422 and "refused" in bad.get_data(as_text=True)
    made = admin.post("/ui/patterns", data={"csrf": csrf, "expression": "disk <full>",
                                            "tags": "infra, disk", "reason": "r"})
    assert made.status_code == 303, text_of(made.get_data(as_text=True))
    pattern_id = int(made.headers["Location"].rsplit("-", 1)[1])
    store = open_store(demo_db[0])
    audit = store.patterns.pattern_audit(pattern_id, limit=5).items
    found = store.patterns.get_pattern(pattern_id)
    store.close()
    assert found is not None and found.tags == ("disk", "infra")
    assert audit and audit[0].actor == "FLAKEGATE_ADMIN_TOKEN"
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert admin.post("/ui/breakages", data={"csrf": csrf, "cause": "c",
                                             "started": future}).status_code == 422
    declared = admin.post("/ui/breakages", data={"csrf": csrf, "cause": "commit abc",
                                                 "pattern_id": str(pattern_id)})
    assert declared.status_code == 303
    breakage = declared.headers["Location"].rsplit("-", 1)[1]
    resolve = f"/ui/breakages/{breakage}/resolve"
    assert admin.post(resolve, data={"csrf": csrf, "resolution": "fix"}).status_code == 303
    assert admin.post(resolve, data={"csrf": csrf, "resolution": "again"}).status_code == 409
    timeline = admin.get("/ui/breakages").get_data(as_text=True)
    assert "commit abc" in timeline and "<rect" in timeline


def test_the_home_page_lists_payloads_newest_first(admin: FlaskClient,
                                                    demo_db: tuple[str, DemoSummary],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from api.ui import views_home

    monkeypatch.setattr(views_home, "PAYLOADS_SHOWN", 5)
    html = admin.get("/ui/").get_data(as_text=True)
    demo = demo_db[1]
    assert html.index(demo.payload) < html.index('id="jobs"')
    assert f'href="{pages_urls.payload_page(demo.payload)}"' in html
    assert 'rel="next"' in html  # 21 nights: more than one page
    older = re.search(r'<a rel="next" href="([^"]+)"', html)
    assert older is not None
    second = admin.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert demo.payload not in second and "Newest" in second


def test_the_demo_run_ids_the_browser_tests_use_exist(
        demo_db: tuple[str, DemoSummary]) -> None:
    url, demo = demo_db
    store = open_store(url)
    try:
        assert store.get_run(demo.regressed_job, demo_run_id(demo)) is not None
    finally:
        store.close()


def test_pages_carry_no_token_and_no_inline_script(admin: FlaskClient,
                                                   demo_db: tuple[str, DemoSummary]) -> None:
    for path in ("/ui/", pages_urls.payload_page(demo_db[1].payload), "/ui/patterns",
                 "/ui/failures", "/ui/breakages"):
        html = admin.get(path).get_data(as_text=True)
        assert ADMIN_TOKEN not in html, path
        scripts = re.findall(r"<script([^>]*)>", html)
        assert all("src=" in attrs or 'type="application/json"' in attrs
                   for attrs in scripts), (path, scripts)




@pytest.mark.parametrize("path", [
    "/ui/?cursor=not-a-cursor", "/ui/breakages?cursor=%00%ff", "/ui/patterns?retired=%ff",
    "/ui/payloads/%ff%fe", "/ui/payloads/" + "x" * 3000, "/ui/jobs/j/runs/r/log?line=-5",
    "/ui/jobs/j/runs/r/log?from=99999999999999999999&step=%00", "/ui/login?next=%00%ff",
])
def test_no_page_answers_5xx_to_odd_input(admin: FlaskClient, path: str) -> None:
    assert admin.get(path).status_code < 500


@pytest.mark.parametrize(("path", "form"), [
    ("/ui/patterns", {"expression": "\x00", "syntax": "nope", "tags": "a" * 5000}),
    ("/ui/patterns/999999999999999999999/retire", {"reason": "r"}),
    ("/ui/patterns/5/retire", {"reason": "x" * 5000}),
    ("/ui/breakages", {"cause": "", "pattern_id": "99999999999999999999999", "started": "x"}),
    ("/ui/breakages", {"cause": "c", "pattern_id": "\u00b2", "started": "x"}),
    ("/ui/breakages/0/resolve", {"resolution": "r", "resolved": "yesterday"}),
    ("/ui/login", {"token": "\x00" * 10}),
])
def test_no_form_answers_5xx_to_odd_input(admin: FlaskClient, path: str,
                                          form: dict[str, str]) -> None:
    csrf = csrf_of(admin.get("/ui/patterns").get_data(as_text=True))
    assert admin.post(path, data={"csrf": csrf, **form}).status_code < 500


def test_a_payload_with_thousands_of_regressions_shows_the_first_ones(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.ui import payload_view

    monkeypatch.setattr(payload_view, "REGRESSIONS_SHOWN", 3)
    monkeypatch.setattr(payload_view, "STRIPS_SHOWN", 1)
    store = open_store(database_url)
    for run in range(3):
        store.put_run(RunSpec(job="j", run_id=f"r{run}", status=RunStatus.FAILURE, payload="p"),
                      [TestResult(name=f"t{i}", suite="s", status=TestStatus.FAILED)
                       for i in range(8)])
    store.put_payload(Payload(id="p", expected={"j": 3}))
    store.close()
    client = page_app(database_url, PUBLIC_READ=True).test_client()
    html = client.get("/ui/payloads/p").get_data(as_text=True)
    assert "The first 3 of 8 regressions" in html
    assert html.count('class="strip"') == 1 and html.count(">history</a>") == 2
