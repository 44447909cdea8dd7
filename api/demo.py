"""A realistic demo history, so that a newcomer sees a working gate at once.

Three jobs of an OpenShift-like nightly stream, each with a few hundred tests: most are stable,
a tail is flaky, two are very flaky. Twenty nights of payloads with three runs per job make
the history (60 runs); the newest payload has ten runs per job, and in one job a previously
stable test now fails every time: the regression the gate should catch. Baselines are computed
from the earlier nights, so the verdict endpoint answers at once. The first job's runs also
carry disruption and alert measurements, with baselines of both kinds
(:mod:`api.demo_measurements`), and the failed runs of the last two weeks have step logs that
a handful of curated patterns classify (:mod:`api.demo_logs`), so the verdict shows its
disruption section and why runs failed. Generation is seeded, and
re-loading is idempotent: a newest payload already registered is not loaded again, and the
admin token, kept in a 0600 file beside the database, is reused while it is still valid (the
store only holds its hash), so ``make run`` prints the same token every time.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.auth import hash_token, new_token
from api.demo_logs import INFRA_QUOTA, FailedRun, load_logs
from api.demo_measurements import MeasuredRun, load_measurements
from api.domain import JobSpec, Payload, RunSpec, RunStatus, Scope, TestResult, TestStatus
from api.services import baselines
from api.store import Store

SIGS = ("sig-network", "sig-storage", "sig-node", "sig-apps", "sig-auth", "sig-cli",
        "sig-api-machinery", "sig-instrumentation", "sig-scheduling", "sig-arch")
SUBJECTS = ("Services", "Pods", "Deployments", "PersistentVolumes", "NetworkPolicy",
            "ConfigMap", "Secrets", "DNS", "Ingress", "StatefulSet", "DaemonSet", "Probes")
BEHAVIOURS = ("should serve a basic endpoint", "should be updated", "should survive a restart",
              "should be mountable", "should enforce policy", "should resolve names",
              "should roll out", "should report readiness", "should be deleted gracefully",
              "should keep data across upgrades")
RUNS_PER_JOB_NOW = 10

DEMO_JOBS = (
    ("periodic-ci-openshift-release-master-nightly-4.19-e2e-aws-ovn",
     {"platform": "aws", "network": "ovn", "arch": "amd64", "release": "4.19"}, 320),
    ("periodic-ci-openshift-release-master-nightly-4.19-e2e-gcp-ovn-upgrade (from 4.18)",
     {"platform": "gcp", "network": "ovn", "arch": "amd64", "release": "4.19",
      "from_release": "4.18"}, 260),
    ("periodic-ci-openshift-release-master-nightly-4.19-e2e-metal-ipi-ovn-ipv6",
     {"platform": "metal", "network": "ovn", "arch": "amd64", "release": "4.19",
      "topology": "ha"}, 200),
)


@dataclass(frozen=True)
class DemoSummary:
    jobs: tuple[str, ...]
    runs: int
    payload: str
    regressed_job: str
    regressed_test: str
    token: str
    reused: bool  # the data was already there: nothing was loaded

    def describe(self, *, base_url: str) -> str:
        from urllib.parse import quote

        first = quote(self.jobs[0], safe="")
        auth = "-H \"Authorization: Bearer $TOKEN\""
        done = "already loaded" if self.reused else "loaded"
        return "\n".join([
            f"demo {done}: {len(self.jobs)} jobs, {self.runs} runs, newest payload "
            f"{self.payload}",
            f"  injected regression: {self.regressed_test!r} in {self.regressed_job}",
            "  admin token (paste this line into your shell first):",
            f"TOKEN={self.token}",
            f"  pages: {base_url}/ui/ (sign in with the token above)",
            "  look at:",
            f"    curl {auth} {base_url}/payloads/{quote(self.payload)}/verdict",
            f"    curl {auth} '{base_url}/payloads/{quote(self.payload)}/verdict?format=markdown'",
            f"    curl {auth} {base_url}/payloads/{quote(self.payload)}/failures",
            f"    curl {auth} {base_url}/failures/unexplained",
            f"    curl {auth} '{base_url}/disruption/baselines?kind=disruptions&format=origin'",
            f"    curl {auth} {base_url}/patterns",
            f"    curl {auth} {base_url}/jobs",
            f"    curl {auth} '{base_url}/jobs/{first}/runs?payload={quote(self.payload)}'",
            f"    curl {base_url}/healthz",
            f"    curl {base_url}/openapi.yaml",
        ])


def _test_names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    names: set[str] = set()
    while len(names) < count:
        name = (f"[{rng.choice(SIGS)}] {rng.choice(SUBJECTS)} {rng.choice(BEHAVIOURS)}"
                f" [{rng.randrange(1, 40):02d}]")
        if rng.random() < 0.3:
            name += " [Conformance]"
        names.add(name)
    return [("openshift-tests", name) for name in sorted(names)]


def _pass_rates(rng: random.Random, count: int) -> list[float]:
    rates = []
    for index in range(count):
        draw = rng.random()
        if index < 2:
            rates.append(rng.uniform(0.6, 0.8))  # the two notorious flakes
        elif draw < 0.85:
            rates.append(1.0)
        elif draw < 0.95:
            rates.append(rng.uniform(0.995, 0.999))
        else:
            rates.append(rng.uniform(0.9, 0.99))
    rng.shuffle(rates)
    return rates


def _run_tests(rng: random.Random, tests: list[tuple[str, str]], rates: list[float],
               ) -> list[TestResult]:
    results = []
    for (suite, name), rate in zip(tests, rates, strict=True):
        if rng.random() < rate:
            status, message = TestStatus.PASSED, None
        elif rate > 0 and rng.random() < 0.3:  # a retry passed (a broken test never does)
            status, message = TestStatus.FLAKED, "failed once, passed on retry"
        else:
            status, message = TestStatus.FAILED, f"fail [{name[:40]}...]: timed out waiting"
        results.append(TestResult(name=name, suite=suite, status=status,
                                  duration_s=round(rng.uniform(0.5, 120), 3), message=message))
    return results


def _status_of(results: list[TestResult]) -> RunStatus:
    failed = any(result.status is TestStatus.FAILED for result in results)
    return RunStatus.FAILURE if failed else RunStatus.SUCCESS


HISTORY_RUNS_PER_NIGHT = 3
LOGGED_NIGHTS = 14  # failed runs of the newest payload and of the nights before get logs
# (14: what GET /failures/unexplained reads by default)
MEASURED_JOB = 0  # the job whose runs send disruption and alert measurements (DEMO_JOBS[0])


def demo_token(store: Store, path: Path | None) -> str:
    """The demo's admin token: the one kept in ``path`` while the store still accepts it as a
    live admin token, else a new one (written to ``path``, readable by its owner only)."""
    if path is not None and path.is_file():
        kept = path.read_text(encoding="utf-8").strip()
        found = store.find_token(hash_token(kept)) if kept else None
        if found is not None and found.scope is Scope.ADMIN and found.live(datetime.now(UTC)):
            return kept
    token = new_token()
    store.add_token(hash_token(token), Scope.ADMIN, "demo")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the start: the token is never readable by others, not even briefly.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(token + "\n")
        path.chmod(0o600)  # an older file may have had wider permissions
    return token


def load_demo(store: Store, *, seed: int = 2026, days: int = 20, now: datetime | None = None,
              token_file: Path | None = None) -> DemoSummary:
    """Load the demo (unless its newest payload is already registered) and return what to
    show; the admin token comes from :func:`demo_token`."""
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    first_night = (now - timedelta(days=days)).replace(hour=2)
    payloads = [
        (first_night + timedelta(days=day)).strftime("4.19.0-0.nightly-%Y-%m-%d-%H%M%S")
        for day in range(days + 1)
    ]
    newest = payloads[-1]
    token = demo_token(store, token_file)
    total_runs = 0
    regressed_job, regressed_test = DEMO_JOBS[0][0], ""
    reused = store.get_payload(newest) is not None
    measured: list[MeasuredRun] = []
    failed: list[FailedRun] = []
    for job_index, (job, variant, test_count) in enumerate(DEMO_JOBS):
        if not reused:
            store.put_job(JobSpec(name=job, variant=variant, expected_runs=RUNS_PER_JOB_NOW))
        tests = _test_names(rng, test_count)
        rates = _pass_rates(rng, test_count)
        for day, payload in enumerate(payloads):
            is_newest = payload == newest
            runs_tonight = RUNS_PER_JOB_NOW if is_newest else HISTORY_RUNS_PER_NIGHT
            night_rates = list(rates)
            if is_newest and job_index == 0:
                victim = next(i for i, rate in enumerate(rates) if rate == 1.0)
                night_rates[victim] = 0.0  # broken outright by this payload
                regressed_test = tests[victim][1]
            for attempt in range(runs_tonight):
                total_runs += 1
                # Drawn even when already loaded: later names depend on the generator's state.
                results = _run_tests(rng, tests, night_rates)
                if reused:
                    continue
                started = first_night + timedelta(days=day, minutes=10 * attempt + job_index)
                run_id = f"{started:%Y%m%d%H%M}{job_index}{attempt:02d}"
                status = _status_of(results)
                store.put_run(
                    RunSpec(job=job, run_id=run_id, status=status, payload=payload,
                            started_at=started, finished_at=started + timedelta(hours=2),
                            url=f"https://prow.example.invalid/view/{run_id}",
                            variant=dict(variant)),
                    results,
                )
                if job_index == MEASURED_JOB:
                    measured.append(MeasuredRun(job, run_id, started))
                if status is RunStatus.FAILURE and day >= days - LOGGED_NIGHTS:
                    # One run of the last job's newest payload lost its cloud quota: an
                    # infrastructure failure the verdict excuses (the job setting `excuse`).
                    infra = is_newest and job_index == len(DEMO_JOBS) - 1 and attempt == 3
                    failed.append(FailedRun(
                        job, run_id, started, results,
                        regression=regressed_test if is_newest and job_index == 0 else None,
                        cause=INFRA_QUOTA if infra else None))
    if reused:
        return DemoSummary(jobs=tuple(job for job, _, _ in DEMO_JOBS), runs=total_runs,
                           payload=newest, regressed_job=regressed_job,
                           regressed_test=regressed_test, token=token, reused=True)
    # Separate generators: the test history above stays what it was before these existed.
    load_measurements(store, measured, seed=seed + 1, now=now)
    load_logs(store, failed, seed=seed + 2)
    store.put_payload(Payload(id=newest, expected={job: RUNS_PER_JOB_NOW
                                                   for job, _, _ in DEMO_JOBS}))
    # Every night, the newest included: the verdict removes the judged payload's own runs, and
    # the server's schedule computes the same window, so a restart writes no new version.
    for job, _, _ in DEMO_JOBS:
        baselines.refresh(store, job, window_days=days + 1, now=now)
    return DemoSummary(jobs=tuple(job for job, _, _ in DEMO_JOBS), runs=total_runs,
                       payload=newest, regressed_job=regressed_job,
                       regressed_test=regressed_test, token=token, reused=False)
