"""Prow's bucket layout: finding builds under a prefix and reading one build's files.

Layouts (SPEC §6):

* ``logs/JOB/BUILD/`` for periodic and postsubmit jobs;
* ``pr-logs/pull/ORG_REPO/PR/JOB/BUILD/`` for presubmits, with an alias object
  ``pr-logs/directory/JOB/BUILD.txt`` whose body is the build's ``gs://`` path;
* batch runs live under ``pr-logs/pull/batch/JOB/BUILD/`` and have **no** alias: a scan of
  ``pr-logs/directory/JOB`` also lists ``pr-logs/pull/batch/JOB`` so that they are found
  (Kettle's directory scan misses them).

A build's JUnit files are every ``junit*.xml`` (or ``.xml.gz``) under ``artifacts/`` at any
depth, not only directly under it (Kettle loses nested folders); its disruption measurement
files (``backend-disruption*.json``, ``alerts*.json``, ``cluster-data*.json``, SPEC §9) are
found the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.crawl.errors import ConfigError
from api.crawl.gcs import GcsReader, ObjectInfo

BUILD_ID = re.compile(r"\d+")
JUNIT_NAME = re.compile(r"junit[^/]*\.xml(\.gz)?", re.IGNORECASE)
# Disruption measurement files (SPEC §9), found like JUnit: at any depth under artifacts/.
MEASUREMENT_NAME = re.compile(r"(backend-disruption|alerts|cluster-data)[^/]*\.json(\.gz)?")
JSON_LIMIT = 8 * 1024 * 1024
PULL_DEPTH = 4  # pr-logs/pull/ + ORG_REPO/ PR/ JOB/ BUILD/


@dataclass(frozen=True, slots=True, order=True)
class BuildRef:
    """Where one build lives. ``job`` is the job name as the path spells it."""

    bucket: str
    path: str  # e.g. logs/JOB/BUILD (no trailing slash)
    job: str
    build_id: str
    org_repo: str | None = None  # from a pr-logs/pull path
    pull: str | None = None

    @property
    def location(self) -> str:
        return f"gs://{self.bucket}/{self.path}"


def parse_build_path(bucket: str, path: str) -> BuildRef | None:
    """A :class:`BuildRef` for a build folder path in either layout, else ``None``."""
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "logs" and BUILD_ID.fullmatch(parts[2]):
        return BuildRef(bucket, "/".join(parts), parts[1], parts[2])
    if (len(parts) == 6 and parts[:2] == ["pr-logs", "pull"]
            and BUILD_ID.fullmatch(parts[5])):
        return BuildRef(bucket, "/".join(parts), parts[4], parts[5], org_repo=parts[2],
                        pull=parts[3])
    if (len(parts) == 5 and parts[:3] == ["pr-logs", "pull", "batch"]
            and BUILD_ID.fullmatch(parts[4])):
        return BuildRef(bucket, "/".join(parts), parts[3], parts[4], org_repo="batch")
    return None


def parse_gs_url(url: str) -> tuple[str, str] | None:
    """``gs://bucket/path`` -> (bucket, path)."""
    text = url.strip()
    if not text.startswith("gs://"):
        return None
    bucket, _, path = text[5:].partition("/")
    return (bucket, path.strip("/")) if bucket and path else None


def _build_ids(dirs: list[str]) -> list[str]:
    return [d for d in dirs if BUILD_ID.fullmatch(d.rstrip("/").rsplit("/", 1)[-1])]


def discover(reader: GcsReader, bucket: str, prefix: str,
             job_filter: Callable[[str], bool] = lambda job: True) -> list[BuildRef]:
    """Every build under ``prefix``, deduplicated, newest (highest id) first.

    ``job_filter`` is asked about each job name *before* its builds are listed, so excluded
    jobs cost no listing.
    """
    parts = [p for p in prefix.strip("/").split("/") if p]
    found: dict[str, BuildRef] = {}

    def add(ref: BuildRef | None) -> None:
        if ref is not None and job_filter(ref.job):
            found.setdefault(ref.path, ref)

    if parts[:1] == ["logs"]:
        jobs = [parts[1]] if len(parts) > 1 else [
            d.rstrip("/").rsplit("/", 1)[-1] for d in reader.list_dirs(bucket, "logs/")]
        for job in jobs:
            if len(parts) > 2:  # a single build
                add(parse_build_path(bucket, "/".join(parts[:3])))
                continue
            if not job_filter(job):
                continue
            for d in _build_ids(reader.list_dirs(bucket, f"logs/{job}/")):
                add(parse_build_path(bucket, d))
    elif parts[:2] == ["pr-logs", "directory"]:
        jobs = [parts[2]] if len(parts) > 2 else [
            d.rstrip("/").rsplit("/", 1)[-1]
            for d in reader.list_dirs(bucket, "pr-logs/directory/")]
        for job in jobs:
            if not job_filter(job):
                continue
            for obj in reader.list_objects(bucket, f"pr-logs/directory/{job}/",
                                           recursive=False):
                stem = obj.name.rsplit("/", 1)[-1].removesuffix(".txt")
                if not obj.name.endswith(".txt") or not BUILD_ID.fullmatch(stem):
                    continue  # latest-build.txt and the like
                body = reader.read(bucket, obj.name, limit=4096) or b""
                target = parse_gs_url(body.decode("utf-8", "replace"))
                if target is not None:
                    add(parse_build_path(target[0], target[1]))
            # Batch runs have no alias (Kettle misses them): look where they live.
            for d in _build_ids(reader.list_dirs(bucket, f"pr-logs/pull/batch/{job}/")):
                add(parse_build_path(bucket, d))
    elif parts[:2] == ["pr-logs", "pull"]:
        # Walk down the fixed-depth tree from wherever the prefix stops; job folders are
        # filtered before their builds are listed.
        level = [parts[2:]]
        while level:
            nxt: list[list[str]] = []
            for segs in level:
                build_depth = 3 if segs[:1] == ["batch"] else PULL_DEPTH
                if len(segs) >= build_depth:
                    add(parse_build_path(bucket, "pr-logs/pull/" + "/".join(segs)))
                    continue
                if len(segs) == build_depth - 1 and not job_filter(segs[-1]):
                    continue
                folder = "pr-logs/pull/" + "".join(s + "/" for s in segs)
                for d in reader.list_dirs(bucket, folder):
                    nxt.append([*segs, d.rstrip("/").rsplit("/", 1)[-1]])
            level = nxt
    else:
        raise ConfigError(f"unsupported prefix {prefix!r}: expected logs/JOB, "
                         "pr-logs/directory/JOB or pr-logs/pull/...")
    return sorted(found.values(), key=lambda r: (-int(r.build_id), r.path))


@dataclass
class BuildFiles:
    """What was read of one build. ``notes`` collects non-fatal problems for the metadata."""

    ref: BuildRef
    started: dict[str, Any] | None = None
    finished: dict[str, Any] | None = None
    prowjob: dict[str, Any] | None = None
    junit: list[tuple[str, bytes]] = field(default_factory=list)  # (name, raw bytes)
    junit_errors: list[str] = field(default_factory=list)
    measurements: list[tuple[str, bytes]] = field(default_factory=list)  # (name, raw bytes)
    build_log: ObjectInfo | None = None
    notes: list[str] = field(default_factory=list)
    listing: dict[str, ObjectInfo] | None = None  # every object of the build, by name


def _json(reader: GcsReader, ref: BuildRef, name: str, files: BuildFiles) -> dict | None:
    if files.listing is not None and f"{ref.path}/{name}" not in files.listing:
        return None  # known absent: no request (most builds have no prowjob.json)
    data = reader.read(ref.bucket, f"{ref.path}/{name}", limit=JSON_LIMIT)
    if data is None:
        return None
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        files.notes.append(f"{name}: not valid JSON ({err})")
        return None
    if not isinstance(value, dict):
        files.notes.append(f"{name}: not a JSON object")
        return None
    return value


def read_build(reader: GcsReader, ref: BuildRef) -> BuildFiles:
    """List the build once, then read the JSON files it has (``None`` for each absent).

    Listing first costs one request and saves one per missing file; the same listing then
    locates the JUnit files and the build log.
    """
    files = BuildFiles(ref)
    objects = reader.list_objects(ref.bucket, f"{ref.path}/")
    files.listing = {obj.name: obj for obj in objects}
    files.started = _json(reader, ref, "started.json", files)
    files.finished = _json(reader, ref, "finished.json", files)
    files.prowjob = _json(reader, ref, "prowjob.json", files)
    return files


def read_artifacts(reader: GcsReader, files: BuildFiles, *,
                   junit_limit: int = 256 * 1024 * 1024) -> None:
    """Fetch every ``junit*.xml`` under ``artifacts/`` at any depth and locate
    ``build-log.txt`` (fetched only by whoever keeps it), from the build's listing."""
    ref = files.ref
    listing = files.listing if files.listing is not None else {
        obj.name: obj for obj in reader.list_objects(ref.bucket, f"{ref.path}/")}
    for obj in sorted(listing.values(), key=lambda o: o.name):
        rel = obj.name[len(ref.path) + 1:]
        if rel == "build-log.txt":
            files.build_log = obj
        elif rel.startswith("artifacts/") and JUNIT_NAME.fullmatch(rel.rsplit("/", 1)[-1]):
            if obj.size > junit_limit:
                files.junit_errors.append(f"{rel}: {obj.size} bytes, over the limit")
                continue
            raw = reader.read_raw(ref.bucket, obj.name)
            if raw is not None:  # None: deleted between listing and reading
                files.junit.append((rel, raw))
        elif rel.startswith("artifacts/") and MEASUREMENT_NAME.fullmatch(rel.rsplit("/", 1)[-1]):
            if obj.size > JSON_LIMIT:
                files.junit_errors.append(f"{rel}: {obj.size} bytes, over the limit")
                continue
            raw = reader.read_raw(ref.bucket, obj.name)
            if raw is not None:
                files.measurements.append((rel, raw))
