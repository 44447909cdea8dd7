"""The disruption page without a browser, on the demo's measurements and baselines: keys and
variants with their percentiles, the chart across versions, a run and a payload measured
against the baselines, and bad parameters answered as pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from api.demo import DemoSummary, load_demo
from api.store import open_store
from tests.ui.frame_helpers import page_app


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FlaskClient, DemoSummary]]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('disruption')) / 'demo.db'}"
    store = open_store(url)
    store.migrate()
    summary = load_demo(store)
    store.close()
    yield page_app(url, PUBLIC_READ=True).test_client(), summary


def text_of(client: FlaskClient, path: str, status: int = 200) -> str:
    answer = client.get(path)
    assert answer.status_code == status, answer.get_data(as_text=True)[:500]
    return answer.get_data(as_text=True)


def test_baselines_by_key_and_variant_with_a_chart_across_versions(
        demo: tuple[FlaskClient, DemoSummary]) -> None:
    client, _ = demo
    html = text_of(client, "/ui/disruption")
    assert "kube-api-new-connections" in html
    assert 'data-chart="by-variant"' in html and 'data-chart="across-versions"' in html
    assert "4.19 | - | aws | amd64 | ovn | ha | N" in html
    chosen = json.dumps(["kube-api-new-connections", "", ""])
    picked = text_of(client, f"/ui/disruption?key={quote(chosen)}")
    assert "<h2 id=\"variants\">kube-api-new-connections by variant</h2>" in picked


def test_a_run_and_a_payload_measured_against_the_baselines(
        demo: tuple[FlaskClient, DemoSummary]) -> None:
    client, summary = demo
    job = summary.jobs[0]
    run_id = client.get(f"/jobs/{quote(job, safe='')}/runs?limit=1",
                        headers={"Authorization": f"Bearer {summary.token}"}
                        ).get_json()["items"][0]["run_id"]
    html = text_of(client, f"/ui/disruption?job={quote(job)}&run={quote(run_id)}")
    assert f"Run {run_id} of" in html and "Measured (s)" in html
    assert "openshift-api-new-connections" in html
    payload = text_of(client, f"/ui/disruption?payload={quote(summary.payload)}")
    assert f"<h4>{job}: " in payload


def test_bad_parameters_are_error_pages(demo: tuple[FlaskClient, DemoSummary]) -> None:
    client, _ = demo
    for query in ("kind=nope", "key=not-json", "key=%5B1%2C2%2C3%5D", "job=%00"):
        html = text_of(client, f"/ui/disruption?{query}", status=422)
        assert "<!doctype html>" in html
    # An unknown key or variant falls back to the first one rather than failing.
    assert text_of(client, "/ui/disruption?key=%5B%22x%22%2C%22%22%2C%22%22%5D&variant=zz")
