"""Building job histories through the API for verdict and baseline tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from tests.conftest import ApiClient

NOW = datetime.now(UTC).replace(microsecond=0)


def job_path(job: str) -> str:
    return "/jobs/" + quote(job, safe="")


def put_run(api: ApiClient, job: str, run_id: str, *, payload: str | None,
            outcomes: dict[str, str], status: str = "success",
            started: datetime | None = None) -> None:
    response = api.put(f"{job_path(job)}/runs/{quote(run_id, safe='')}", json={
        "payload": payload,
        "status": status,
        "started_at": (started or NOW - timedelta(hours=1)).isoformat(),
        "tests": [{"name": name, "suite": "e2e", "status": outcome}
                  for name, outcome in outcomes.items()],
    })
    assert response.status_code in (200, 201), response.json


def names_of_tests(count: int) -> list[str]:
    return [f"test-{index:03d}" for index in range(count)]


def build_history(api: ApiClient, job: str, *, runs: int = 40, tests: int = 30,
                  flaky: dict[str, int] | None = None) -> None:
    """``runs`` good runs of other payloads; ``flaky`` maps a test to 'fails every N-th run'."""
    flaky = flaky or {}
    for index in range(runs):
        outcomes = {name: "failed" if name in flaky and index % flaky[name] == 0 else "passed"
                    for name in names_of_tests(tests)}
        put_run(api, job, f"h{index}", payload=f"old-{index // 2}", outcomes=outcomes,
                started=NOW - timedelta(days=2, minutes=index))
    response = api.post(f"{job_path(job)}/baselines", json={})
    assert response.status_code == 201, response.json
