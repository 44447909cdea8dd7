"""Scans and the generic-pattern flag on the shipped realistic log corpus (``tests/data/logs``):
arrival scans store exactly the corpus's ground-truth matches, and "Process completed with
exit code 1." (the tracker's complaint) is flagged too generic where it is: on a project that
runs on GitHub Actions, it ends every failed log."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from api.domain import RunSpec, RunStatus
from api.services import patterns, scans
from api.store import Store, open_store
from tests.conftest import DATA, ApiClient

LOGS = DATA / "logs"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # the log store keeps logs with escapes stripped
MANIFEST: dict[str, Any] = json.loads((LOGS / "manifest.json").read_text())
CURATED: list[dict[str, Any]] = json.loads((LOGS / "patterns.json").read_text())
GENERIC_ACTIONS, GENERIC_MAKE = MANIFEST["generic_patterns"]
APT_DNS = 1


def text_of(entry: dict[str, Any]) -> str:
    return ANSI.sub("", (LOGS / entry["file"]).read_text(encoding="utf-8"))


def on_actions(entry: dict[str, Any]) -> bool:
    return "##[group]" in text_of(entry)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    handle = open_store(database_url)
    yield handle
    handle.close()


def load(store: Store, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The curated patterns (ids 1..n, as in the corpus) and the kept logs, scanned on arrival
    with every passing log sampled."""
    for fields in CURATED:
        made = patterns.create(store, fields, actor="curator")
        assert made.id == fields["id"]
    kept = [e for e in MANIFEST["logs"] if keep(e)]
    for entry in kept:
        store.put_run(RunSpec(job=entry["job"], run_id=entry["run_id"],
                              status=RunStatus(entry["status"])))
        scans.scan_arrived(store, entry["job"], entry["run_id"], entry["step"], text_of(entry),
                           RunStatus(entry["status"]), passing_every=1)
    return kept


def test_arrival_scans_store_the_ground_truth_matches(store: Store) -> None:
    kept = load(store, lambda entry: True)
    for entry in kept:
        found = store.patterns.run_matches(entry["job"], [entry["run_id"]]).get(entry["run_id"],
                                                                               [])
        got = sorted((m.line.pattern_id, m.line.line_number) for m in found)
        assert got == sorted(tuple(m) for m in entry["matches"]), entry["file"]
        applied = store.patterns.applied_versions(entry["job"], [(entry["run_id"],
                                                                  entry["step"])])
        assert applied[(entry["run_id"], entry["step"])] == {p["id"]: 1 for p in CURATED}


def flag(api: ApiClient, pattern_id: int) -> dict[str, Any]:
    body = api.get(f"/patterns/{pattern_id}").json
    assert body is not None
    return body["generic"]


def test_on_actions_the_exit_code_line_is_flagged_and_real_causes_are_not(
        store: Store, api: ApiClient) -> None:
    kept = load(store, on_actions)
    failed = [e for e in kept if e["status"] == "failure"]
    assert len(failed) >= 5  # enough of the corpus runs on Actions for the test to mean it
    generic = flag(api, GENERIC_ACTIONS)
    assert generic["too_generic"] and generic["failed_share"] == 1.0
    assert generic["failed_logs"] == len(failed) and generic["threshold"] == 0.3
    for specific in {d for e in failed if (d := e["decisive"]) is not None}:
        assert not flag(api, specific)["too_generic"], specific


def test_on_the_whole_corpus_make_s_generic_line_is_flagged(store: Store,
                                                           api: ApiClient) -> None:
    load(store, lambda entry: True)
    make = flag(api, GENERIC_MAKE)
    assert make["too_generic"] and make["failed_share"] > 0.5
    assert make["passing_logs"] == 10 and make["failed_logs"] == 30
    dns = flag(api, APT_DNS)
    assert not dns["too_generic"] and 0 < dns["failed_share"] < 0.3
