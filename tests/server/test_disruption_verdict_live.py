"""The disruption verdict over real HTTP (gunicorn, 2 workers): a payload with doubled
disruption on 5 of 10 runs fails its job under both policies, a good one passes."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.api.disruption_history import DOUBLED, GOOD, payload_runs, steady_history
from tests.live_server import LiveServer

pytestmark = pytest.mark.slow
JOB = "periodic-ci-openshift-release-master-ci-4.16-upgrade-from-stable-4.15-e2e-aws-ovn-upgrade"


@dataclass
class Answer:
    status_code: int
    body: Any

    def get_json(self) -> Any:
        return self.body


class LiveApi:
    """What the disruption history helpers call, over HTTP."""

    def __init__(self, server: LiveServer) -> None:
        self.url = server.url
        self.session = requests.Session()
        self.session.headers.update(server.headers())

    def _answer(self, response: requests.Response) -> Answer:
        return Answer(response.status_code, response.json())

    def put(self, path: str, *, json: Any) -> Answer:
        return self._answer(self.session.put(self.url + path, json=json, timeout=30))

    def post(self, path: str, *, data: dict[str, list[tuple[io.BytesIO, str]]]) -> Answer:
        files = [("files", (name, stream.getvalue())) for stream, name in data["files"]]
        return self._answer(self.session.post(self.url + path, files=files, timeout=30))

    def job_verdict(self, payload: str) -> dict[str, Any]:
        response = self.session.get(f"{self.url}/payloads/{payload}/verdict", timeout=30)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()["jobs"][0]
        return job


@pytest.mark.parametrize("policy", ["bayes", "aggregator"])
def test_doubled_disruption_fails_the_job_a_good_payload_passes(live_server: LiveServer,
                                                                policy: str) -> None:
    api = LiveApi(live_server)
    assert api.put(f"/jobs/{quote(JOB, safe='')}",
                   json={"settings": {"disruption_policy": policy}}).status_code in (200, 201)
    steady_history(api, JOB)
    payload_runs(api, JOB, "good", GOOD)
    payload_runs(api, JOB, "doubled", DOUBLED)
    good = api.job_verdict("good")
    assert good["verdict"] == "pass" and good["disruption"]["verdict"] == "pass"
    bad = api.job_verdict("doubled")
    assert bad["verdict"] == "fail" and bad["disruption"]["policy"] == policy
    assert bad["disruption"]["blocking"] is True
