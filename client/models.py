"""Typed, immutable views of the server's JSON bodies.

Each model is built with ``from_json``, which reads the fields the contract names and ignores
any others, so that a newer server adding fields never breaks an older client. A body missing
a named field raises ``KeyError``/``TypeError``; :class:`client.api.Client` turns that into
:class:`client.errors.UnexpectedResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

VERDICTS = ("pass", "fail", "pending")
RUN_STATUSES = ("pending", "success", "failure", "error", "aborted")
FINAL_RUN_STATUSES = RUN_STATUSES[1:]


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _strings(value: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(key): str(item) for key, item in (value or {}).items()}


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    variant: Mapping[str, str]
    policy: str | None
    expected_runs: int | None
    settings: Mapping[str, Any]
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Job:
        return cls(
            name=body["name"], variant=_strings(body.get("variant")), policy=body.get("policy"),
            expected_runs=body.get("expected_runs"), settings=dict(body.get("settings") or {}),
            created_at=parse_time(body.get("created_at")),
            updated_at=parse_time(body.get("updated_at")),
        )


@dataclass(frozen=True, slots=True)
class Counts:
    total: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaked: int = 0

    @classmethod
    def from_json(cls, body: Mapping[str, Any] | None) -> Counts:
        body = body or {}
        return cls(**{name: int(body.get(name, 0)) for name in
                      ("total", "passed", "failed", "errors", "skipped", "flaked")})


@dataclass(frozen=True, slots=True)
class JunitFile:
    name: str
    sha256: str
    tests: int

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> JunitFile:
        return cls(name=body["name"], sha256=body["sha256"], tests=int(body["tests"]))


@dataclass(frozen=True, slots=True)
class AttachedFile:
    name: str
    sha256: str
    tests: int
    added: bool  # False: the server already had a file with this content

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> AttachedFile:
        return cls(name=body["name"], sha256=body["sha256"], tests=int(body["tests"]),
                   added=bool(body["added"]))


@dataclass(frozen=True, slots=True)
class Run:
    job: str
    run_id: str
    payload: str | None
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    url: str | None
    variant: Mapping[str, str]
    metadata: Mapping[str, str]
    counts: Counts
    files: tuple[JunitFile, ...]
    created_at: datetime | None
    updated_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status != "pending"

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Run:
        return cls(
            job=body["job"], run_id=body["run_id"], payload=body.get("payload"),
            status=body["status"], started_at=parse_time(body.get("started_at")),
            finished_at=parse_time(body.get("finished_at")), url=body.get("url"),
            variant=_strings(body.get("variant")), metadata=_strings(body.get("metadata")),
            counts=Counts.from_json(body.get("counts")),
            files=tuple(JunitFile.from_json(item) for item in body.get("files") or ()),
            created_at=parse_time(body.get("created_at")),
            updated_at=parse_time(body.get("updated_at")),
        )


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What one ``upload_junit`` call did, over all the requests it needed."""

    run: Run | None  # the run as of the last request (None when there was nothing to send)
    files: tuple[AttachedFile, ...]
    requests: int
    bytes_sent: int  # compressed bytes on the wire, file parts only

    @property
    def added(self) -> int:
        return sum(1 for item in self.files if item.added)

    @property
    def already_present(self) -> int:
        return sum(1 for item in self.files if not item.added)

    @property
    def tests(self) -> int:
        return sum(item.tests for item in self.files)


@dataclass(frozen=True, slots=True)
class Payload:
    id: str
    expected: Mapping[str, int]
    deadline: datetime | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Payload:
        return cls(
            id=body["id"], expected={str(k): int(v) for k, v in (body.get("expected") or {})
                                     .items()},
            deadline=parse_time(body.get("deadline")),
            created_at=parse_time(body.get("created_at")),
            updated_at=parse_time(body.get("updated_at")),
        )


@dataclass(frozen=True, slots=True)
class RunTally:
    expected: int | None
    finished: int
    counted: int
    pending: int

    @classmethod
    def from_json(cls, body: Mapping[str, Any] | None) -> RunTally:
        body = body or {}
        expected = body.get("expected")
        return cls(expected=None if expected is None else int(expected),
                   finished=int(body.get("finished", 0)), counted=int(body.get("counted", 0)),
                   pending=int(body.get("pending", 0)))


@dataclass(frozen=True, slots=True)
class BaselineRef:
    version: int
    runs: int

    @classmethod
    def from_json(cls, body: Mapping[str, Any] | None) -> BaselineRef | None:
        if not body:
            return None
        return cls(version=int(body["version"]), runs=int(body.get("runs", 0)))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class Regression:
    test: str
    suite: str
    passes: int
    failures: int
    baseline_pass_rate: float | None
    allowed_failures: float | None
    p_value: float | None
    reason: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Regression:
        return cls(
            test=body["test"], suite=body.get("suite") or "", passes=int(body.get("passes", 0)),
            failures=int(body.get("failures", 0)),
            baseline_pass_rate=_float(body.get("baseline_pass_rate")),
            allowed_failures=_float(body.get("allowed_failures")),
            p_value=_float(body.get("p_value")), reason=body.get("reason") or "",
        )


@dataclass(frozen=True, slots=True)
class VerdictWarning:
    """A warning of the verdict (e.g. code ``no_baseline``): shown, never a verdict itself."""

    code: str
    job: str
    message: str

    @classmethod
    def from_json(cls, body: Any) -> VerdictWarning:
        if isinstance(body, str):  # a bare string is a message with no code
            return cls(code="", job="", message=body)
        return cls(code=str(body.get("code") or ""), job=str(body.get("job") or ""),
                   message=str(body.get("message") or ""))


@dataclass(frozen=True, slots=True)
class JobVerdict:
    job: str
    verdict: str
    policy: str | None
    runs: RunTally
    baseline: BaselineRef | None
    tests_checked: int
    regressions: tuple[Regression, ...]
    notes: Mapping[str, int]
    reason: str
    #: The ``disruption`` section as sent (``None`` without measurements): the CLI renders it.
    disruption: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> JobVerdict:
        return cls(
            job=body["job"], verdict=body["verdict"], policy=body.get("policy"),
            runs=RunTally.from_json(body.get("runs")),
            baseline=BaselineRef.from_json(body.get("baseline")),
            tests_checked=int(body.get("tests_checked") or 0),
            regressions=tuple(Regression.from_json(item)
                              for item in body.get("regressions") or ()),
            notes={str(k): int(v) for k, v in (body.get("notes") or {}).items()},
            reason=body.get("reason") or "",
            disruption=body.get("disruption") if isinstance(body.get("disruption"), dict)
            else None,
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    payload: str
    verdict: str  # pass | fail | pending
    policy: str | None
    deadline: datetime | None
    deadline_passed: bool
    jobs: tuple[JobVerdict, ...]
    warnings: tuple[VerdictWarning, ...] = ()
    #: The body as the server sent it, for ``--format json`` and for fields newer than us.
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    etag: str | None = field(default=None, compare=False)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"

    @property
    def pending(self) -> bool:
        return self.verdict == "pending"

    @property
    def regressions(self) -> list[tuple[str, Regression]]:
        """Every regression with the job it belongs to, in the server's order."""
        return [(job.job, item) for job in self.jobs for item in job.regressions]

    @classmethod
    def from_json(cls, body: Mapping[str, Any], etag: str | None = None) -> Verdict:
        if body["verdict"] not in VERDICTS:
            raise ValueError(f"unknown verdict {body['verdict']!r}")
        return cls(
            payload=body["payload"], verdict=body["verdict"], policy=body.get("policy"),
            deadline=parse_time(body.get("deadline")),
            deadline_passed=bool(body.get("deadline_passed", False)),
            jobs=tuple(JobVerdict.from_json(item) for item in body.get("jobs") or ()),
            warnings=tuple(VerdictWarning.from_json(item)
                           for item in body.get("warnings") or ()),
            raw=dict(body), etag=etag,
        )
