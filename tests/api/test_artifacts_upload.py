"""POST /jobs/{job}/runs/{run_id}/artifacts and what GET …/runs/{run_id} shows of it."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from tests.conftest import ApiClient, junit_xml

DATA = Path(__file__).parent.parent / "data" / "disruption"
JOB = "/jobs/periodic-ci-4.15-upgrade-from-stable-4.14-e2e-aws-ovn-upgrade"
RUN = f"{JOB}/runs/1"


def files(*names: str, gz: bool = False) -> dict[str, object]:
    out: dict[str, list[tuple[io.BytesIO, str]]] = {"file": []}
    for name in names:
        body = junit_xml([("a", "passed"), ("b", "failed")]) if name.endswith(".xml") \
            else (DATA / name).read_bytes()
        if gz:
            body, name = gzip.compress(body), name + ".gz"
        out["file"].append((io.BytesIO(body), f"artifacts/e2e/{name}"))
    return out  # type: ignore[return-value]


ALL = ("junit_e2e.xml", "backend-disruption_e2e-test_20261120-101010.json",
       "backend-disruption_upgrade_20261120-093000.json",
       "alerts_e2e-test_20261120-101010.json", "cluster-data_e2e-test_20261120-101010.json")


def post(api: ApiClient, data: dict[str, object], path: str = RUN) -> object:
    return api.post(f"{path}/artifacts", data=data, content_type="multipart/form-data")


def test_one_upload_attaches_junit_and_measurements(api: ApiClient) -> None:
    api.put(RUN, json={"status": "success"})
    response = post(api, files(*ALL, gz=True))
    assert response.status_code == 201, response.json  # type: ignore[attr-defined]
    body = response.json  # type: ignore[attr-defined]
    assert body["run"]["counts"]["total"] == 2
    assert [f["kind"] for f in body["files"]] == ["junit", "disruptions", "disruptions",
                                                  "alerts", "cluster-data"]
    assert all(f["added"] for f in body["files"])
    run = api.get(RUN).json
    assert run["disruption"] == {"ingress-to-console-new-connections": 63,
                                 "kube-api-new-connections": 4,
                                 "kube-api-reused-connections": 0,
                                 "oauth-api-new-connections": 3724}
    assert {"name": "etcdMembersDown", "namespace": "openshift-etcd", "level": "Warning",
            "seconds": 56} in run["alerts"]
    assert run["measurement_variant"] == {
        "release": "4.15", "from_release": "4.14", "platform": "aws", "architecture": "amd64",
        "network": "ovn", "topology": "ha", "master_nodes_updated": "Y"}
    assert body["run"]["disruption"] == run["disruption"]


def test_the_same_files_again_change_nothing(api: ApiClient) -> None:
    api.put(RUN, json={"status": "success"})
    first = post(api, files(*ALL))
    before = api.get(RUN).json
    again = post(api, files(*ALL, gz=True))  # same content, compressed: same hashes
    assert (first.status_code, again.status_code) == (201, 200)  # type: ignore[attr-defined]
    assert not any(f["added"] for f in again.json["files"])  # type: ignore[attr-defined]
    assert api.get(RUN).json == before


def test_without_cluster_data_the_variant_comes_from_the_job_name(api: ApiClient) -> None:
    api.put(RUN, json={"status": "success"})
    post(api, files("backend-disruption_upgrade_20261120-093000.json"))
    assert api.get(RUN).json["measurement_variant"] == {
        "release": "4.15", "from_release": "4.14", "platform": "aws", "architecture": "amd64",
        "network": "ovn", "topology": "ha", "master_nodes_updated": ""}


def test_a_run_without_measurements_shows_empty_fields(api: ApiClient) -> None:
    api.put(RUN, json={"status": "success"})
    run = api.get(RUN).json
    assert (run["disruption"], run["alerts"], run["measurement_variant"]) == ({}, [], None)


def test_other_files_are_refused_by_name_and_nothing_is_stored(api: ApiClient) -> None:
    api.put(RUN, json={"status": "success"})
    data = files(*ALL)
    data["file"].append((io.BytesIO(b"hello"), "build-log.txt"))  # type: ignore[attr-defined]
    data["file"].append((io.BytesIO(b"{}"), "e2e-timelines.json"))  # type: ignore[attr-defined]
    response = post(api, data)
    assert response.status_code == 415  # type: ignore[attr-defined]
    assert response.json["error"]["details"] == {  # type: ignore[attr-defined]
        "files": ["build-log.txt", "e2e-timelines.json"]}
    run = api.get(RUN).json
    assert run["counts"]["total"] == 0 and run["disruption"] == {}


def test_a_malformed_measurement_file_is_named_and_nothing_is_stored(api: ApiClient) -> None:
    api.put(RUN, json={"status": "success"})
    data = files(*ALL)
    data["file"].append((io.BytesIO(b'{"Alerts": 3}'), "alerts_bad.json"))  # type: ignore[attr-defined]
    response = post(api, data)
    assert response.status_code == 400  # type: ignore[attr-defined]
    error = response.json["error"]  # type: ignore[attr-defined]
    assert error["code"] == "invalid_artifact" and error["details"]["file"] == "alerts_bad.json"
    run = api.get(RUN).json
    assert run["counts"]["total"] == 0 and run["disruption"] == {}


def test_budgets_scope_and_missing_run(api: ApiClient, app: object,
                                      tokens: dict[str, str]) -> None:
    assert post(api, files(*ALL)).status_code == 404  # type: ignore[attr-defined]
    api.put(RUN, json={"status": "success"})
    assert post(api.as_token(tokens["read"]), files(*ALL)).status_code == 403  # type: ignore[attr-defined]
    assert post(api, {}).status_code == 400  # type: ignore[attr-defined]
    raw = api.post(f"{RUN}/artifacts", data=b"{}", headers={"Content-Type": "application/json"})
    assert raw.status_code == 415
    app.config["MAX_DECOMPRESSED_BYTES"] = 100  # type: ignore[attr-defined]
    big = post(api, files("backend-disruption_e2e-test_20261120-101010.json"))
    assert big.status_code == 413  # type: ignore[attr-defined]
