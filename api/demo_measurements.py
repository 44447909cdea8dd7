"""The demo's disruption and alert measurements (SPEC §9, docs/disruption.md).

Every run of one OpenShift-like demo job sends the three files an origin e2e run writes
(``backend-disruption*.json``, ``alerts*.json``, ``cluster-data*.json``), generated here and
ingested through the service the ``/artifacts`` route uses, so the demo's history is what an
upload would have stored. Seconds are drawn per backend from shapes like origin's: most
backends are 0 s in most runs, with a tail of a few seconds; new-connection backends behind a
load balancer are disrupted more often. Both kinds' baseline versions are then computed from
these runs, as an admin's ``POST /disruption/baselines`` would.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.disruption.model import MeasurementKind
from api.services import disruption_baselines
from api.services.artifacts_upload import attach_artifacts
from api.services.junit_upload import Limits, Upload
from api.store import Store

# (backend, share of runs with any disruption, typical seconds when disrupted)
BACKENDS = (
    ("kube-api-new-connections", 0.35, 2.0),
    ("kube-api-reused-connections", 0.15, 1.0),
    ("openshift-api-new-connections", 0.35, 2.5),
    ("oauth-api-new-connections", 0.3, 2.0),
    ("ingress-to-console-new-connections", 0.5, 4.0),
    ("ingress-to-oauth-server-new-connections", 0.5, 3.5),
    ("image-registry-new-connections", 0.25, 3.0),
    ("ci-cluster-network-liveness-new-connections", 0.1, 1.0),
)
# (alert, namespace, level, share of runs where it fired, typical seconds)
ALERTS = (
    ("KubePodNotReady", "openshift-monitoring", "Warning", 0.3, 120.0),
    ("etcdMembersDown", "openshift-etcd", "Critical", 0.1, 30.0),
    ("KubeAPIErrorBudgetBurn", "openshift-kube-apiserver", "Critical", 0.05, 90.0),
    ("Watchdog", "openshift-monitoring", "None", 1.0, 0.0),
)
LIMITS = Limits(decompressed_bytes=8 * 1024 * 1024, testcases=1000, parts=3)


@dataclass(frozen=True, slots=True)
class MeasuredRun:
    job: str
    run_id: str
    started: datetime


def _go_duration(seconds: float) -> str:
    whole = int(seconds)
    minutes, rest = divmod(whole, 60)
    fraction = f"{seconds - whole:.1f}".lstrip("0")
    text = f"{rest}{fraction if fraction != '.0' else ''}s"
    return f"{minutes}m{text}" if minutes else text


def _disruptions(rng: random.Random) -> bytes:
    found: dict[str, dict[str, object]] = {}
    for name, share, typical in BACKENDS:
        seconds = rng.expovariate(1 / typical) + 1 if rng.random() < share else 0.0
        found[name] = {"Name": name, "BackendName": name,
                       "ConnectionType": "New" if "-new-" in name else "Reused",
                       "DisruptedDuration": _go_duration(seconds), "DisruptionMessages": []}
    return json.dumps({"BackendDisruptions": found}, indent=2).encode()


def _alerts(rng: random.Random) -> bytes:
    fired = [{"Name": name, "Namespace": namespace, "Level": level,
              "Duration": _go_duration(rng.expovariate(1 / typical) if typical else 0.0)}
             for name, namespace, level, share, typical in ALERTS if rng.random() < share]
    return json.dumps({"Alerts": fired}, indent=2).encode()


def _cluster_data() -> bytes:
    return json.dumps({"Release": "4.19", "FromRelease": "", "Platform": "aws",
                       "Architecture": "amd64", "Network": "ovn", "Topology": "ha",
                       "MasterNodesUpdated": "N", "NetworkStack": "IPv4",
                       "CloudRegion": "us-east-1"}, indent=2).encode()


def load_measurements(store: Store, runs: Sequence[MeasuredRun], *, seed: int,
                      now: datetime) -> None:
    """Attach the three files to each run (which must exist), then compute both kinds'
    baselines over the default window ending ``now`` (or the last run's end, if later)."""
    rng = random.Random(seed)
    for run in runs:
        stamp = f"{run.started:%Y%m%d-%H%M%S}"  # origin names its files by the run's start
        uploads = [Upload(f"backend-disruption_e2e-test_{stamp}.json", _disruptions(rng)),
                   Upload(f"alerts_e2e-test_{stamp}.json", _alerts(rng)),
                   Upload(f"cluster-data_e2e-test_{stamp}.json", _cluster_data())]
        attach_artifacts(store, run.job, run.run_id, uploads, limits=LIMITS)
    until = max([now, *(run.started + timedelta(hours=2) for run in runs)])
    for kind in MeasurementKind:
        disruption_baselines.compute(store, kind, actor="demo", now=until,
                                     note="the demo's history (flakegate demo)")
