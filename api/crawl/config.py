"""``crawl.yaml``: many buckets and jobs, exclusions, per-source payload mapping, settings.

::

    settings:                      # all optional; the defaults are shown
      workers: 4
      rate: 200                    # GCS requests per second, all workers together (0: no limit)
      history_rate: 2              # job-history page fetches per second
      attempts: 7                  # per request, on transient errors (exponential backoff)
      max_build_attempts: 3        # per build, across crawls, before it is left failed
      unfinished_max_age: 5d       # a started-only build older than this is aged out
      build_log_dir: null          # deprecated: also keep build-log.txt (gzip) on disk here
      build_log_max_bytes: 1048576
    sources:
      - bucket: kubernetes-jenkins
        prefixes: [logs/ci-kubernetes-e2e-gci-gce, pr-logs/directory/pull-kubernetes-e2e-gce]
        exclude: ['.*-canary', 'ci-kubernetes-e2e-gce-scale-.*']
        payload: {annotations: [release.openshift.io/tag], labels: [], metadata: []}
        view_url: https://prow.k8s.io/view/gs/{bucket}/{path}
        since: 2026-11-01
        limit: 500
      - job_history: https://prow.ci.openshift.org/job-history/gs/origin-ci-test/logs/JOB
        limit: 100

Exclusions are regular expressions that must match a **whole** job name (``re.fullmatch``),
and one :class:`Excluder` applies them everywhere a job name is seen (Kettle applied them as
substrings in one path and anchored in another).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.crawl.errors import ConfigError
from api.crawl.mapping import PAYLOAD_ANNOTATION, PayloadRule
from client.durations import parse_duration


class Excluder:
    """Anchored, full-match exclusion of job names; the one place they are applied."""

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns: list[re.Pattern[str]] = []
        for pattern in patterns:
            try:
                self.patterns.append(re.compile(pattern))
            except re.error as err:
                raise ConfigError(f"exclude pattern {pattern!r}: {err}") from None

    def excluded(self, job: str) -> bool:
        return any(p.fullmatch(job) for p in self.patterns)

    def allows(self, job: str) -> bool:
        return not self.excluded(job)


@dataclass(frozen=True)
class Settings:
    workers: int = 4
    rate: float = 200.0
    history_rate: float = 2.0
    attempts: int = 7
    backoff_base: float = 0.5
    max_build_attempts: int = 3
    unfinished_max_age: float = 5 * 86400.0
    build_log_dir: Path | None = None
    build_log_max_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class Source:
    """One thing to crawl: prefixes of a bucket, or a job-history page (then ``bucket`` and
    the prefix come from its URL)."""

    bucket: str | None = None
    prefixes: tuple[str, ...] = ()
    job_history: str | None = None
    exclude: Excluder = field(default_factory=Excluder)
    payload: PayloadRule = field(default_factory=PayloadRule)
    view_url: str | None = None
    since: datetime | None = None
    limit: int | None = None


@dataclass(frozen=True)
class CrawlConfig:
    sources: tuple[Source, ...]
    settings: Settings = Settings()


def parse_since(text: str | datetime | None) -> datetime | None:
    if text is None or isinstance(text, datetime):
        return text if text is None or text.tzinfo else text.replace(tzinfo=UTC)
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"since: not a date or time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: expected a string or a list of strings")


def payload_rule(value: Any, where: str) -> PayloadRule:
    if value is None:
        return PayloadRule()
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}.payload: expected a mapping")
    unknown = set(value) - {"annotations", "labels", "metadata"}
    if unknown:
        raise ConfigError(f"{where}.payload: unknown keys {sorted(unknown)}")
    return PayloadRule(
        annotations=_strings(value.get("annotations", [PAYLOAD_ANNOTATION]),
                             f"{where}.payload.annotations"),
        labels=_strings(value.get("labels"), f"{where}.payload.labels"),
        metadata=_strings(value.get("metadata"), f"{where}.payload.metadata"))


_SOURCE_KEYS = {"bucket", "prefixes", "prefix", "job_history", "exclude", "payload",
                "view_url", "since", "limit"}
_SETTING_KEYS = {"workers", "rate", "history_rate", "attempts", "backoff_base",
                 "max_build_attempts", "unfinished_max_age", "build_log_dir",
                 "build_log_max_bytes"}


def _settings(raw: Any) -> Settings:
    if raw is None:
        return Settings()
    if not isinstance(raw, Mapping):
        raise ConfigError("settings: expected a mapping")
    unknown = set(raw) - _SETTING_KEYS
    if unknown:
        raise ConfigError(f"settings: unknown keys {sorted(unknown)}")
    values: dict[str, Any] = dict(raw)
    if "unfinished_max_age" in values:
        try:
            values["unfinished_max_age"] = parse_duration(str(values["unfinished_max_age"]))
        except ValueError as err:
            raise ConfigError(f"settings.unfinished_max_age: {err}") from None
    if values.get("build_log_dir") is not None:
        values["build_log_dir"] = Path(values["build_log_dir"])
    for key in ("workers", "attempts", "max_build_attempts", "build_log_max_bytes"):
        if key in values and (not isinstance(values[key], int) or values[key] < 1):
            raise ConfigError(f"settings.{key}: expected a positive integer")
    return Settings(**values)


def load_config(path: Path) -> CrawlConfig:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: {err}") from None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("sources"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'sources' list")
    sources = []
    for i, item in enumerate(raw["sources"]):
        where = f"sources[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where}: expected a mapping")
        unknown = set(item) - _SOURCE_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        prefixes = _strings(item.get("prefixes"), f"{where}.prefixes") + _strings(
            item.get("prefix"), f"{where}.prefix")
        if bool(item.get("job_history")) == bool(item.get("bucket")):
            raise ConfigError(f"{where}: give either bucket (with prefixes) or job_history")
        if item.get("bucket") and not prefixes:
            raise ConfigError(f"{where}: a bucket source needs prefixes")
        limit = item.get("limit")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"{where}.limit: expected a positive integer")
        sources.append(Source(
            bucket=item.get("bucket"), prefixes=prefixes, job_history=item.get("job_history"),
            exclude=Excluder(_strings(item.get("exclude"), f"{where}.exclude")),
            payload=payload_rule(item.get("payload"), where), view_url=item.get("view_url"),
            since=parse_since(item.get("since")), limit=limit))
    return CrawlConfig(tuple(sources), _settings(raw.get("settings")))
