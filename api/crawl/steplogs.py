"""A crawled build's logs, for the store (issue 13): ``build-log.txt`` as step ``build`` and
every ``artifacts/<step>/build-log.txt`` as step ``<step>`` (``e2e-aws/ipi-install`` for
ci-operator's multi-stage steps).

Read one at a time, so a worker holds one log in memory. An object stored larger than
:data:`~api.crawl.buildlog.RAW_HARD_LIMIT` is not fetched (noted instead): the server would
keep only its head and tail, and the crawler would first hold it whole. A step whose name the
API refuses (control characters, too long) is noted and skipped, as is any log beyond
:data:`MAX_STEP_LOGS` of one build.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from api.crawl.buildlog import RAW_HARD_LIMIT
from api.crawl.gcs import GcsReader, ObjectInfo
from api.crawl.prow import BuildFiles
from api.names import name_problem

BUILD_STEP = "build"
MAX_STEP_LOGS = 200


@dataclass(frozen=True, slots=True)
class CrawledLog:
    step: str
    source: str  # gs://bucket/object
    data: bytes  # as stored: gzip or plain, the server detects which


def build_logs(reader: GcsReader, files: BuildFiles, notes: list[str]) -> Iterator[CrawledLog]:
    """The build's logs, fetched lazily; what is skipped is appended to ``notes``."""
    bucket = files.ref.bucket
    found: list[tuple[str, ObjectInfo]] = []
    if files.build_log is not None:
        found.append((BUILD_STEP, files.build_log))
    found += sorted(files.step_logs.items())
    if len(found) > MAX_STEP_LOGS:
        notes.append(f"{len(found) - MAX_STEP_LOGS} step logs beyond {MAX_STEP_LOGS} not kept")
        found = found[:MAX_STEP_LOGS]
    for step, obj in found:
        problem = name_problem(step)
        if problem is not None:
            notes.append(f"step log {obj.name}: the step name {problem}")
            continue
        if obj.size > RAW_HARD_LIMIT:
            notes.append(f"{step}: {obj.size} stored bytes, over {RAW_HARD_LIMIT}; not kept")
            continue
        data = reader.read_raw(bucket, obj.name)
        if data is not None:  # None: deleted between listing and reading
            yield CrawledLog(step, f"gs://{bucket}/{obj.name}", data)
