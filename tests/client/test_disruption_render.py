"""The CLI's text verdict shows a job's disruption section."""

from __future__ import annotations

from typing import Any

from client.models import Verdict
from client.render import render_text

SECTION: dict[str, Any] = {
    "setting": "block", "policy": "bayes", "verdict": "fail", "blocking": True,
    "reason": "bayes: 1 disruption check(s) failed (kube-api-new-connections)", "runs": 10,
    "history": [], "single_run_checked": 20,
    "policies": [
        {"policy": "bayes", "verdict": "fail", "checks": [
            {"key": {"kind": "disruptions", "name": "kube-api-new-connections", "namespace": "",
                     "level": ""},
             "check": "seconds should not be worse", "status": "fail",
             "reason": "5 of 10 runs at or above 13s", "threshold": 13.0, "runs": []}]},
        {"policy": "aggregator", "verdict": "pass", "checks": []}],
    "single_run": [{"run_id": "r7", "key": {"kind": "alerts", "name": "etcdNoLeader",
                                            "namespace": "openshift-etcd", "level": "Critical"},
                    "seconds": 30, "status": "fail", "allowed": 0.0, "reason": "...",
                    "step": "exact"}],
}


def verdict(section: dict[str, Any] | None) -> Verdict:
    return Verdict.from_json({
        "payload": "p", "verdict": "fail", "policy": "bayes", "deadline": None,
        "deadline_passed": False, "warnings": [],
        "jobs": [{"job": "e2e", "verdict": "fail", "policy": "bayes",
                  "runs": {"expected": 10, "finished": 10, "counted": 10, "pending": 0},
                  "baseline": None, "tests_checked": 0, "regressions": [], "notes": {},
                  "reason": "r", "warnings": [], "disruption": section}]})


def test_the_section_is_shown_with_failed_checks_and_single_runs() -> None:
    text = render_text(verdict(SECTION))
    assert "disruption (bayes, block): FAIL: bayes: 1 disruption check(s) failed" in text
    assert ("- bayes: kube-api-new-connections: seconds should not be worse: 5 of 10 runs "
            "at or above 13s") in text
    assert "- run r7: etcdNoLeader (openshift-etcd, Critical) 30s (fail; allowed 0s)" in text


def test_no_section_no_lines() -> None:
    assert "disruption" not in render_text(verdict(None))
