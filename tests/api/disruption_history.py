"""Runs with disruption measurements, through the API (the artifacts endpoint), for the
disruption verdict tests."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from tests.api.history import NOW, job_path

BACKEND = "kube-api-new-connections"
CLUSTER = {"Release": "4.16", "FromRelease": "4.15", "Platform": "aws", "Architecture": "amd64",
           "Network": "ovn", "Topology": "ha", "MasterNodesUpdated": "Y"}
PAYLOAD_START = NOW - timedelta(hours=2)


def disruption_file(seconds: Mapping[str, int]) -> bytes:
    return json.dumps({"BackendDisruptions": {
        f"{name}-key": {"Name": name, "BackendName": name, "ConnectionType": "New",
                        "DisruptedDuration": f"{s}s", "DisruptionMessages": []}
        for name, s in seconds.items()}}).encode()


def put_measured_run(api: Any, job: str, run_id: str, *, payload: str | None,
                     seconds: Mapping[str, int], started: datetime,
                     status: str = "success") -> None:
    path = f"{job_path(job)}/runs/{quote(run_id, safe='')}"
    response = api.put(path, json={"payload": payload, "status": status,
                                   "started_at": started.isoformat(),
                                   "tests": [{"name": "t", "suite": "e2e",
                                              "status": "passed"}]})
    assert response.status_code in (200, 201), response.get_json()
    response = api.post(f"{path}/artifacts", data={"files": [
        (io.BytesIO(disruption_file(seconds)), "backend-disruption_e2e.json"),
        (io.BytesIO(json.dumps(CLUSTER).encode()), "cluster-data_e2e.json")]})
    assert response.status_code in (200, 201), response.get_json()


def steady_history(api: Any, job: str, *, runs: int = 40) -> None:
    """A backend disrupted a steady 10 to 12 s per run, 4 to 9 days before the payload."""
    for index in range(runs):
        put_measured_run(api, job, f"h{index}", payload=f"old-{index}",
                         seconds={BACKEND: 10 + index % 3},
                         started=PAYLOAD_START - timedelta(days=4, hours=3 * index))


def payload_runs(api: Any, job: str, payload: str, seconds: list[int]) -> None:
    for index, value in enumerate(seconds):
        put_measured_run(api, job, f"{payload}-r{index}", payload=payload,
                         seconds={BACKEND: value},
                         started=PAYLOAD_START + timedelta(minutes=index))


GOOD = [10, 11, 12, 11, 10, 12, 11, 10, 11, 12]
DOUBLED = [20, 22, 24, 22, 20, 12, 11, 10, 11, 12]  # 5 of 10 runs doubled
