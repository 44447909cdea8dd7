"""Receiving a run's artifact files: JUnit XML and the three measurement kinds (SPEC §9).

Each file is routed by its name and checked by its content: ``*.xml`` is JUnit (parsed as the
JUnit upload parses it), ``backend-disruption*.json``, ``alerts*.json`` and
``cluster-data*.json`` are measurement files (parsed by :mod:`api.disruption.artifacts`, which
refuses content that is not what the name says); each may be gzip-compressed (``.gz``
or not: gzip is recognised by its magic bytes). Any other file refuses the request with a 415
naming every refused file, before anything is read.

The JUnit upload's budget (:class:`~api.services.junit_upload.Limits`) covers all files of the
request, and everything is parsed before the one atomic store write
(:meth:`~api.store.disruption.DisruptionStore.put_artifacts`): one bad file stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api.disruption.artifacts import (
    ParsedArtifact,
    artifact_kind,
    is_junit_name,
    parse_artifact,
    variant_from_job_name,
)
from api.services.errors import UnsupportedFiles
from api.services.ingest import Ingested, IngestObserver
from api.services.junit_upload import (
    AttachReport,
    Budget,
    Limits,
    Upload,
    check_request,
    parse_upload,
    read_plain,
)
from api.store import Store
from api.store.disruption import ArtifactsWrite


@dataclass(frozen=True, slots=True)
class MeasurementReport:
    name: str
    sha256: str
    kind: str
    added: bool


@dataclass(frozen=True, slots=True)
class ArtifactsReport:
    write: ArtifactsWrite
    junit: list[AttachReport]
    measurements: list[MeasurementReport]

    @property
    def added(self) -> bool:
        return any(r.added for r in self.junit) or any(r.added for r in self.measurements)


def refused_names(names: Sequence[str]) -> list[str]:
    """The names that are neither JUnit XML nor a measurement file."""
    return [name for name in names if not is_junit_name(name) and artifact_kind(name) is None]


def attach_artifacts(store: Store, job: str, run_id: str, uploads: Sequence[Upload], *,
                     limits: Limits, observer: IngestObserver | None = None) -> ArtifactsReport:
    """Parse every upload, then write them all in one step; files already attached are
    skipped. Raises :class:`UnsupportedFiles`, :class:`~api.services.errors.InvalidUpload`,
    :class:`~api.junit.JunitParseError`, :class:`~api.disruption.artifacts.ArtifactParseError`
    or :class:`~api.store.NotFound` before anything is stored."""
    refused = refused_names([upload.name for upload in uploads])
    if refused:
        raise UnsupportedFiles(refused)
    check_request(store, job, run_id, uploads, limits=limits, what="artifact file")
    budget = Budget(limits)
    junit, cuts, measured = [], [], []
    for upload in uploads:
        if artifact_kind(upload.name) is None:
            attached, cut = parse_upload(upload, budget)
            junit.append(attached)
            cuts.append(cut)
        else:
            measured.append(_parse_measurement(upload, budget))
    found = store.get_job(job)
    run = store.get_run(job, run_id)
    labels = {**(found.variant if found else {}), **(run.spec.variant if run else {})}
    write = store.disruption.put_artifacts(job, run_id, junit, measured,
                                           variant_from_job_name(job, labels))
    if observer is not None:
        new = [item for item, was_added in zip(junit, write.junit_added, strict=True)
               if was_added]
        observer(Ingested(files=len(new) + sum(write.measurements_added),
                          results=sum(len(item.tests) for item in new)))
    return ArtifactsReport(
        write,
        [AttachReport(item.file, was_added, cut)
         for item, cut, was_added in zip(junit, cuts, write.junit_added, strict=True)],
        [MeasurementReport(item.name, item.sha256, item.kind.value, was_added)
         for item, was_added in zip(measured, write.measurements_added, strict=True)])


def _parse_measurement(upload: Upload, budget: Budget) -> ParsedArtifact:
    data, sha256 = read_plain(upload, budget)
    return parse_artifact(upload.name, data, sha256)
