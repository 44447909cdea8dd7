"""POST/GET /disruption/baselines: versions from stored runs, rows, origin's form."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from api.disruption import origin
from api.disruption.percentiles import percentile_cont
from tests.conftest import ApiClient

JOB = "/jobs/periodic-ci-4.15-upgrade-from-stable-4.14-e2e-aws-ovn-upgrade"
CLUSTER = {"Release": "4.15", "FromRelease": "4.14", "Platform": "aws", "Architecture": "amd64",
           "Network": "ovn", "Topology": "ha", "MasterNodesUpdated": "Y"}


def upload_run(api: ApiClient, run_id: str, seconds: dict[str, int],
               alerts: list[tuple[str, str, int]] = ()) -> None:  # type: ignore[assignment]
    started = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    api.put(f"{JOB}/runs/{run_id}", json={"status": "success", "started_at": started})
    disruption = {"BackendDisruptions": {n: {"Name": n, "DisruptedDuration": f"{s}s"}
                                         for n, s in seconds.items()}}
    files = [(io.BytesIO(json.dumps(disruption).encode()), "backend-disruption_e2e.json"),
             (io.BytesIO(json.dumps(CLUSTER).encode()), "cluster-data_e2e.json")]
    if alerts:
        body = {"Alerts": [{"Name": n, "Namespace": "ns", "Level": lv, "Duration": f"{s}s"}
                           for n, lv, s in alerts]}
        files.append((io.BytesIO(json.dumps(body).encode()), "alerts_e2e.json"))
    response = api.post(f"{JOB}/runs/{run_id}/artifacts", data={"file": files},
                        content_type="multipart/form-data")
    assert response.status_code == 201, response.json


SECONDS = [3, 0, 7, 1, 12, 0, 4]


def seed(api: ApiClient) -> None:
    for i, s in enumerate(SECONDS):
        upload_run(api, str(i), {"kube-api": s, **({"oauth": 2} if i == 0 else {})},
                   [("etcdMembersDown", "warning", 10 * i)] if i % 2 else [])


def test_compute_list_and_origin_form(api: ApiClient) -> None:
    seed(api)
    created = api.post("/disruption/baselines", json={"kind": "disruptions", "note": "first"})
    assert created.status_code == 201
    assert (created.json["version"], created.json["rows"], created.json["note"]) == (1, 2, "first")
    assert created.json["actor"] == "FLAKEGATE_ADMIN_TOKEN"  # who: the token's name
    listed = api.get("/disruption/baselines?kind=disruptions&name=kube-api").json
    assert listed["baseline"]["version"] == 1
    (row,) = listed["items"]
    assert row["job_runs"] == len(SECONDS)
    assert row["p99"] == percentile_cont(SECONDS, 0.99)
    assert row["variant"]["master_nodes_updated"] == "Y"
    oauth = api.get("/disruption/baselines?kind=disruptions&name=oauth").json["items"][0]
    assert oauth["p50"] == 0.0 and oauth["p99"] > 0  # zeros of a known key: 6 runs of 0
    text = api.get("/disruption/baselines?kind=disruptions&format=origin").get_data(as_text=True)
    rows, layout = origin.parse(text)
    assert layout == origin.DISRUPTIONS_LAYOUT
    assert [r.key.name for r in rows] == ["kube-api", "oauth"]
    assert json.loads(text)[0]["P99"] == origin.format_seconds(percentile_cont(SECONDS, 0.99))


def test_alert_baselines_and_paging(api: ApiClient) -> None:
    seed(api)
    api.post("/disruption/baselines", json={"kind": "alerts", "window_days": 7})
    page = api.get("/disruption/baselines?kind=alerts&limit=1").json
    assert page["items"][0]["level"] == "Warning" and page["next_cursor"] is None
    assert page["items"][0]["job_runs"] == 3  # only runs that sent an alerts file count
    text = api.get("/disruption/baselines?kind=alerts&format=origin").get_data(as_text=True)
    assert json.loads(text)[0]["AlertName"] == "etcdMembersDown"


def test_admin_only_and_errors(api: ApiClient, tokens: dict[str, str]) -> None:
    writer = api.as_token(tokens["write"])
    assert writer.post("/disruption/baselines", json={"kind": "alerts"}).status_code == 403
    assert api.post("/disruption/baselines", json={"kind": "x"}).status_code == 422
    assert api.get("/disruption/baselines?kind=alerts").status_code == 404
    assert api.get("/disruption/baselines").status_code == 422
    api.post("/disruption/baselines", json={"kind": "alerts"})
    assert api.get("/disruption/baselines?kind=alerts&version=9").status_code == 404
    assert api.get("/disruption/baselines?kind=alerts&cursor=zz").status_code == 400
