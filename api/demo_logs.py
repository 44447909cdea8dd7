"""The demo's build logs and curated failure patterns (SPEC §10, docs/failure-*.md).

Each failed demo run of the last nights gets the log of its test step, shaped like an
``openshift-tests`` step log on Prow (``INFO[...]`` lines, klog lines, ``started:``/``failed:``
lines of its failed tests) and ending with one cause: an etcd leader change or a dial timeout
(tagged ``flaky``), a cloud quota or an image pull rate limit (tagged ``infra``, so the job
setting ``excuse`` keeps such a run out of the verdict's evidence), a nil pointer panic (a
pattern without a tag: a real bug), or nothing any pattern knows (the unexplained failures,
clustered by ``/failures/unexplained``). The runs of the injected test regression end with
its assertion only: nothing explains them, as in real life the first time.

No cause takes more than a third of the logs: a pattern matching over
``FLAKEGATE_GENERIC_PATTERN_SHARE`` (0.3) of the failed logs is flagged too generic and never
decides. The patterns are created through the same service as ``POST /patterns``, the logs
stored through the one behind ``PUT .../logs/{step}``, and the patterns' backfills run here,
so the classification is ready when the server starts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.domain import TestResult, TestStatus
from api.services import logs, patterns, scans
from api.services.junit_upload import Limits
from api.store import Store

STEP = "openshift-e2e-test"
LIMITS = Limits(decompressed_bytes=8 * 1024 * 1024, testcases=0, parts=1)

# (expression, syntax, tags, description): what the demo's curator wrote down so far.
PATTERNS = (
    ("etcdserver: leader changed", "literal", ["flaky"],
     "etcd elected a new leader mid-request; the client retries, the test does not"),
    (r"dial tcp \d+\.\d+\.\d+\.\d+:\d+: i/o timeout", "regex", ["flaky"],
     "a connection to a node timed out (transient network trouble)"),
    ("no aws-quota-slice available", "literal", ["infra"],
     "the CI cluster ran out of AWS quota while provisioning"),
    ("toomanyrequests: You have reached your pull rate limit", "literal", ["infra"],
     "Docker Hub's pull rate limit"),
    ("panic: runtime error: invalid memory address or nil pointer dereference", "literal",
     ["bug"], "a component crashed: a product bug until proven otherwise"),
)
# The last line of each cause (None: the pattern-less causes below), and its weight.
CAUSES = (
    ("E{klog} etcd_client.go:211] error updating lease: etcdserver: leader changed", 22),
    ("error: Get \"https://10.0.{a}.{b}:10250/containerLogs\": dial tcp 10.0.{a}.{b}:10250: "
     "i/o timeout", 20),
    ("level=error msg=\"failed to acquire lease: no aws-quota-slice available\" "
     "boskos=aws-quota-slice", 8),
    ("error pulling image \"docker.io/library/busybox:1.36\": toomanyrequests: You have "
     "reached your pull rate limit", 8),
    ("panic: runtime error: invalid memory address or nil pointer dereference "
     "[signal SIGSEGV: segmentation violation code=0x1 addr=0x{hexaddr} pc=0x1c2e3f4]", 14),
    ("FATAL clusteroperator/authentication is Degraded=True: "
     "OAuthServerRouteEndpointAccessibleController_SyncError (took {secs}s)", 16),
    ("ERROR Unexpected alert fired during the run: KubeDeploymentReplicasMismatch "
     "namespace=openshift-monitoring pod=prometheus-k8s-{a}", 12),
)
INFRA_QUOTA = 2  # the index of the cloud quota cause in CAUSES


@dataclass(frozen=True, slots=True)
class FailedRun:
    job: str
    run_id: str
    started: datetime
    results: Sequence[TestResult]
    regression: str | None  # the injected regressed test, when this run has it
    cause: int | None = None  # an index into CAUSES; None: drawn


def _klog(at: datetime, rng: random.Random) -> str:
    return f"{at:%m%d %H:%M:%S}.{rng.randrange(10**6):06d}    {rng.randrange(900, 9999)}"


def log_text(run: FailedRun, rng: random.Random) -> str:
    """The step log of one failed run."""
    at = run.started
    lines = [f"INFO[{at:%Y-%m-%dT%H:%M:%SZ}] Running step {STEP}.",
             "+ openshift-tests run openshift/conformance/parallel --junit-dir /logs/artifacts",
             f"I{_klog(at, rng)} test_context.go:567] Tolerating taints "
             "\"node-role.kubernetes.io/control-plane\" when considering if nodes are ready"]
    failed = [r for r in run.results if r.status is TestStatus.FAILED]
    passed = [r for r in run.results if r.status is not TestStatus.FAILED]
    for index, result in enumerate(rng.sample(passed, min(6, len(passed)))):
        stamp = at + timedelta(minutes=index + 1)
        lines.append(f"passed: ({result.duration_s or 1.0:.1f}s) {stamp:%Y-%m-%dT%H:%M:%S} "
                     f"\"{result.name}\"")
    for index, result in enumerate(failed):
        stamp = at + timedelta(minutes=30 + index)
        lines.append(f"started: 0/{index + 1}/{len(run.results)} \"{result.name}\"")
        if result.name == run.regression:
            lines.append("  [FAILED] Expected volume content \"value-1\" but the file is empty "
                         "(test/extended/configmap.go:214)")
        lines.append(f"failed: ({result.duration_s or 1.0:.1f}s) "
                     f"{stamp:%Y-%m-%dT%H:%M:%S} \"{result.name}\"")
    if run.regression is None:
        cause = run.cause
        if cause is None:
            cause = rng.choices(range(len(CAUSES)), [w for _, w in CAUSES])[0]
        lines.append(CAUSES[cause][0].format(
            klog=_klog(at + timedelta(hours=1), rng), a=rng.randrange(256),
            b=rng.randrange(1, 255), hexaddr=f"{rng.randrange(16**4):x}",
            secs=rng.randrange(60, 900)))
    lines.append(f"{len(failed)} fail, {len(passed)} pass, 0 skip "
                 f"({rng.randrange(50, 90)}m{rng.randrange(60)}s)")
    return "\n".join(lines) + "\n"


def load_logs(store: Store, runs: Sequence[FailedRun], *, seed: int) -> None:
    """Create the curated patterns, store each failed run's step log, then run the patterns'
    backfills over them (what a server's scan thread would do within seconds)."""
    for expression, syntax, tags, description in PATTERNS:
        patterns.create(store, {"expression": expression, "syntax": syntax, "tags": tags,
                                "description": description, "reason": "the demo's curation"},
                        actor="demo")
    rng = random.Random(seed)
    for run in runs:
        logs.put_log(store, run.job, run.run_id, STEP, log_text(run, rng).encode(),
                     limits=LIMITS, source="demo")
    scans.run_open_scans(store, holder="demo")
