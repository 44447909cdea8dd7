"""A GitHub Actions payload for publishing tests: one matrix job of ten parallel runs on a
commit (three of them failing, their logs classified as a scan would: flaky, infra, a known
breakage) and a lint job whose one failed run nothing explains (new), all recorded with the
metadata the action records (``ci: github-actions``, ``repository``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from api.failures.model import LineMatch, PatternSyntax
from api.store import Store
from api.store.patterns import PatternDraft
from tests.api.history import NOW, build_history, job_path, names_of_tests
from tests.conftest import ApiClient

REPO = "octo-org/widgets"
SHA = "5" * 40
E2E = "octo-org/widgets/CI/e2e"
LINT = "octo-org/widgets/CI/lint"
REGRESSED = "test-007"
FLAKY_LINE = "read tcp 10.0.0.3:443: connection reset by peer"
INFRA_LINE = "E: Failed to fetch http://mirror/pool/curl.deb  Temporary failure resolving"
KNOWN_LINE = "pkg/x.go:3: undefined: Reconcile"
NEW_LINE = "lint.go:12: unused variable `x`"


@dataclass(frozen=True)
class Scenario:
    repository: str
    sha: str
    jobs: tuple[str, ...]


def metadata(repository: str = REPO) -> dict[str, str]:
    return {"ci": "github-actions", "repository": repository, "run_attempt": "1"}


def put_run(api: ApiClient, job: str, run_id: str, *, payload: str, status: str,
            outcomes: dict[str, str], repository: str = REPO) -> None:
    response = api.put(f"{job_path(job)}/runs/{quote(run_id, safe='')}", json={
        "payload": payload, "status": status, "metadata": metadata(repository),
        "started_at": (NOW - timedelta(minutes=30)).isoformat(),
        "tests": [{"name": name, "suite": "e2e", "status": outcome}
                  for name, outcome in outcomes.items()]})
    assert response.status_code in (200, 201), response.json


def _pattern(store: Store, expression: str, *tags: str) -> int:
    draft = PatternDraft(expression=expression, syntax=PatternSyntax.LITERAL, tags=tags,
                         specificity=2)
    return store.patterns.create_pattern(draft, actor="test").id


def _matched(store: Store, job: str, run_id: str, pattern_id: int, line: int,
             text: str) -> None:
    version = store.patterns.patterns_by_ids([pattern_id])[pattern_id].version
    store.patterns.replace_matches(job, run_id, "build", {pattern_id: version},
                                   [LineMatch(pattern_id, version, line, 0, len(text), text)])


def build(api: ApiClient, store: Store, *, e2e: str = E2E, lint: str = LINT,
          regressed: str = REGRESSED, sha: str = SHA) -> Scenario:
    """The payload ``sha``: ten e2e runs (three failing ``regressed``), one failed lint run."""
    build_history(api, e2e)
    build_history(api, lint, runs=10, tests=3)
    names = names_of_tests(30)
    names[names.index(REGRESSED)] = regressed
    for index in range(10):
        failing = index < 3
        outcomes = dict.fromkeys(names, "passed")
        if failing:
            outcomes[regressed] = "failed"
        put_run(api, e2e, f"9001-{index}", payload=sha,
                status="failure" if failing else "success", outcomes=outcomes)
    put_run(api, lint, "9002-1", payload=sha, status="failure",
            outcomes={"test-000": "failed"})
    flaky = _pattern(store, "connection reset by peer", "flaky")
    infra = _pattern(store, "Temporary failure resolving", "infra")
    broken = _pattern(store, "undefined: Reconcile")
    untagged = _pattern(store, "unused variable")
    made = api.post("/breakages", json={"cause": "commit 1a2b", "jobs": [e2e],
                                        "pattern_id": broken})
    assert made.status_code == 201, made.json
    _matched(store, e2e, "9001-0", flaky, 41, FLAKY_LINE)
    _matched(store, e2e, "9001-1", infra, 7, INFRA_LINE)
    _matched(store, e2e, "9001-2", broken, 120, KNOWN_LINE)
    _matched(store, lint, "9002-1", untagged, 12, NEW_LINE)
    return Scenario(REPO, sha, (e2e, lint))
