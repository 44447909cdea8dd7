"""Where crawled runs go, and where the crawl's state is kept.

* :class:`StoreSink` writes into a store (``--db``/``FLAKEGATE_DATABASE``) through the same
  service layer as the API (``catalog.put_run`` then ``junit_upload.attach``) and keeps the
  crawl ledger in the store's ``crawl_records``.
* :class:`RestSink` writes through a running server with :class:`client.api.Client`. There is
  no ledger endpoint, so the server's runs *are* the state: a build whose run exists and is
  finished is done; a pending run is an unfinished build to re-poll. Anything else is
  (re)ingested, which is harmless: an identical PUT is a no-op and uploads are de-duplicated
  by content hash. A build that could not be read leaves no run and is tried again next crawl
  (each crawl still retries each request at most 7 times).

A JUnit file that does not parse never blocks its build: the good files are attached and the
run's metadata names each bad file and why (``crawl.junit_errors``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from api.crawl.mapping import METADATA_VALUE_MAX, MappedRun
from api.crawl.prow import BuildRef
from api.store import CrawlRecord, CrawlState

UPLOAD_LIMIT = 256 * 1024 * 1024


@dataclass
class IngestResult:
    created: bool  # the run was new or changed
    files_added: int = 0
    junit_errors: list[str] = field(default_factory=list)


class Sink(Protocol):
    def ledger(self, source: str, refs: Sequence[BuildRef]) -> dict[str, CrawlRecord]: ...

    def record(self, records: Sequence[CrawlRecord]) -> None: ...

    def ingest(self, run: MappedRun, junit: Sequence[tuple[str, bytes]],
               measurements: Sequence[tuple[str, bytes]] = ()) -> IngestResult:
        """Put the run, then attach its JUnit and (SPEC §9) measurement files together."""

    def release(self) -> None:
        """Free what the calling thread opened (called by each worker as it ends)."""

    def close(self) -> None: ...


def _with_errors(run: MappedRun, errors: list[str]) -> dict[str, Any]:
    meta = dict(run.fields["metadata"])
    meta["crawl.junit_errors"] = "; ".join(errors)[:METADATA_VALUE_MAX]
    return {**run.fields, "metadata": meta}


def _missing_sqlite_file(url: str) -> bool:
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    return parts.scheme == "sqlite" and parts.path != "/:memory:" and not Path(
        unquote(parts.path)).exists()


class StoreSink:
    """Direct writes; one store object per thread, as the store contract asks."""

    def __init__(self, url: str, *, dry_run: bool = False) -> None:
        from api.store import open_store

        self.url = url
        self.dry_run = dry_run
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._open = open_store
        self._absent = dry_run and _missing_sqlite_file(url)
        if not dry_run:
            from api.commands import open_migrated

            store = open_migrated(url)  # once, before any worker writes
            self._local.store = store
            self._all.append(store)

    def store(self) -> Any:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = self._open(self.url)
            with self._lock:
                self._all.append(store)
        return store

    def ledger(self, source: str, refs: Sequence[BuildRef]) -> dict[str, CrawlRecord]:
        from api.store import StoreError

        builds = [ref.location for ref in refs]
        if self._absent:  # a dry run must not create the database by opening it
            return {}
        try:
            found: dict[str, CrawlRecord] = {}
            for i in range(0, len(builds), 500):
                found.update(self.store().get_crawl_records(source, builds[i:i + 500]))
            return found
        except StoreError:
            if self.dry_run:  # an uninitialised database: nothing is known yet
                return {}
            raise
        except Exception as err:  # sqlite's "no such table" on a never-migrated database
            if self.dry_run and "no such table" in str(err):
                return {}
            raise

    def record(self, records: Sequence[CrawlRecord]) -> None:
        if not self.dry_run and records:
            self.store().put_crawl_records(records)

    def ingest(self, run: MappedRun, junit: Sequence[tuple[str, bytes]],
               measurements: Sequence[tuple[str, bytes]] = ()) -> IngestResult:
        from api.disruption.artifacts import ArtifactParseError
        from api.domain import WriteOutcome
        from api.junit import JunitParseError
        from api.services import artifacts_upload, catalog, junit_upload
        from api.services.errors import InvalidUpload

        store = self.store()
        _, outcome = catalog.put_run(store, run.job, run.run_id, run.fields)
        result = IngestResult(created=outcome is not WriteOutcome.UNCHANGED)
        if not junit and not measurements:
            return result

        def attach(uploads: list[junit_upload.Upload]) -> int:
            limits = junit_upload.Limits.per_file(UPLOAD_LIMIT, len(uploads))
            if not measurements:
                _, reports = junit_upload.attach(store, run.job, run.run_id, uploads,
                                                 limits=limits)
                return sum(r.added for r in reports)
            # With measurement files (SPEC §9): JUnit and measurements in one write.
            report = artifacts_upload.attach_artifacts(store, run.job, run.run_id, uploads,
                                                       limits=limits)
            return sum(report.write.junit_added) + sum(report.write.measurements_added)

        uploads = [junit_upload.Upload(name, data) for name, data in [*junit, *measurements]]
        try:  # the common case: every file parses, one transaction
            result.files_added = attach(uploads)
            return result
        except (JunitParseError, InvalidUpload, ArtifactParseError):
            pass
        for upload in uploads:  # isolate the bad files; the good ones still count
            try:
                result.files_added += attach([upload])
            except (JunitParseError, ArtifactParseError) as err:
                result.junit_errors.append(str(err))
            except InvalidUpload as err:
                result.junit_errors.append(err.message)
        catalog.put_run(store, run.job, run.run_id, _with_errors(run, result.junit_errors))
        return result

    def release(self) -> None:
        store = getattr(self._local, "store", None)
        if store is not None:
            self._local.store = None
            with self._lock:
                self._all.remove(store)
            store.close()

    def close(self) -> None:
        self.release()
        with self._lock:
            # Stores of threads that never released are unreachable from here (sqlite3
            # forbids closing them on this thread); dropping them lets them be collected.
            self._all.clear()


class RestSink:
    """Writes through the REST API; state is the server's runs (see the module docstring)."""

    def __init__(self, url: str, token: str | None, *, dry_run: bool = False,
                 retries: int = 7) -> None:
        from client.api import Client

        self.dry_run = dry_run
        self._local = threading.local()
        self._make = lambda: Client(url, token, retries=retries)
        self._clients: list[Any] = []
        self._lock = threading.Lock()

    def client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._make()
            with self._lock:
                self._clients.append(client)
        return client

    def ledger(self, source: str, refs: Sequence[BuildRef]) -> dict[str, CrawlRecord]:
        from client import errors

        known: dict[str, CrawlRecord] = {}
        by_job: dict[str, list[BuildRef]] = {}
        for ref in refs:
            by_job.setdefault(ref.job, []).append(ref)
        for job, job_refs in by_job.items():
            try:  # one paged listing per job instead of one GET per build
                statuses = {run.run_id: run.status for run in self.client().list_runs(job)}
            except errors.NotFoundError:
                continue
            for ref in job_refs:
                status = statuses.get(ref.build_id)
                if status is None:
                    continue
                state = CrawlState.UNFINISHED if status == "pending" else CrawlState.DONE
                known[ref.location] = CrawlRecord(source, ref.location, state, job=job,
                                                  run_id=ref.build_id)
        return known

    def record(self, records: Sequence[CrawlRecord]) -> None:
        """Nothing to do: the runs written by :meth:`ingest` are the state."""

    def ingest(self, run: MappedRun, junit: Sequence[tuple[str, bytes]],
               measurements: Sequence[tuple[str, bytes]] = ()) -> IngestResult:
        from client import errors

        client = self.client()
        client.put_run(run.job, run.run_id, **run.fields)
        result = IngestResult(created=True)  # the server says 200 for both; not worth a GET
        files = [*junit, *measurements]
        if not files:
            return result
        # Measurement files (SPEC §9) go with the JUnit files to /artifacts.
        artifacts = bool(measurements)
        try:
            uploaded = client.upload_junit(run.job, run.run_id, files, artifacts=artifacts)
            result.files_added = len(uploaded.files)
            return result
        except errors.ApiError as err:
            if err.status not in (400, 413):
                raise
        for name, data in files:
            try:
                client.upload_junit(run.job, run.run_id, [(name, data)], artifacts=artifacts)
                result.files_added += 1
            except errors.ApiError as err:
                if err.status not in (400, 413):
                    raise
                result.junit_errors.append(f"{name}: {err.message}")
        client.put_run(run.job, run.run_id, **_with_errors(run, result.junit_errors))
        return result

    def release(self) -> None:
        """Sessions are closed together in :meth:`close` (requests allows any thread)."""

    def close(self) -> None:
        for client in self._clients:
            client.close()
