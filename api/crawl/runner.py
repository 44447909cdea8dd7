"""The crawl: discover builds, consult the ledger, read and ingest new ones with workers,
record each outcome as soon as it is known, and summarise.

Ledger rules (one record per build, keyed by ``gs://bucket`` and the build's ``gs://`` path,
never by a time window, so changing ``--since`` or ``--limit`` cannot duplicate anything):

* ``done``: ingested (even if some JUnit file was broken: the record's reason and the run's
  metadata say which); never read again.
* ``unfinished``: started, not finished: ingested as a ``pending`` run and re-polled every
  crawl until it finishes, or until it is older than ``unfinished_max_age`` (5 days): then
  the run becomes ``error`` with ``crawl.aged_out`` in its metadata and the record ``failed``
  with reason ``aged out: ...``, final and visible (Kettle forgets such builds silently).
* ``failed``: reading or writing failed after the per-request retries; tried again on later
  crawls until ``max_build_attempts``, then left failed with its last reason.

Each build's record is written right after the build is handled, so an interrupted crawl
resumes where it stopped, and re-running a crawl ingests nothing twice.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TextIO

from api.crawl.buildlog import BuildLogPolicy, keep_build_log
from api.crawl.config import Settings, Source
from api.crawl.gcs import GcsReader
from api.crawl.mapping import MappedRun, map_build
from api.crawl.prow import BuildRef, discover, read_artifacts, read_build
from api.crawl.sinks import Sink
from api.store import CrawlRecord, CrawlState

AGED_OUT = "aged out"
#: Seconds to wait for a worker to finish its current build when the crawl stops.
JOIN_TIMEOUT = 600.0


@dataclass
class Summary:
    found: int = 0  # builds discovered (after exclusion by path)
    new: int = 0  # not in the ledger before this crawl
    ingested: int = 0  # finished builds written this crawl
    unfinished: int = 0  # started, not finished: written as pending, polled again later
    aged_out: int = 0  # unfinished for too long: recorded as such, final
    failed: int = 0  # failed this crawl (reason in the ledger)
    skipped: int = 0  # done before, given up, before --since, excluded, over --limit
    junit_errors: int = 0  # broken JUnit files (their runs were still ingested)

    def add(self, other: Summary) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def line(self) -> str:
        return (f"found {self.found}, new {self.new}, ingested {self.ingested}, "
                f"unfinished {self.unfinished}, aged out {self.aged_out}, "
                f"failed {self.failed}, skipped {self.skipped}, "
                f"broken junit files {self.junit_errors}")


class Progress:
    """A one-line progress bar on a terminal; silent otherwise (logs stay clean)."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = total > 0 and self.stream.isatty()
        self.total, self.label, self.done = total, label, 0
        self._lock = threading.Lock()

    def step(self) -> None:
        with self._lock:
            self.done += 1
            if self.enabled:
                width = 30
                filled = int(width * self.done / self.total)
                self.stream.write(f"\r{self.label} [{'#' * filled}{' ' * (width - filled)}] "
                                  f"{self.done}/{self.total}")
                self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class Crawler:
    def __init__(self, reader: GcsReader, sink: Sink, settings: Settings | None = None, *,
                 dry_run: bool = False, out: TextIO | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.reader = reader
        self.sink = sink
        self.settings = settings or Settings()
        self.dry_run = dry_run
        self.out = out or sys.stdout
        self.now = now
        self.logs = BuildLogPolicy(self.settings.build_log_dir,
                                   self.settings.build_log_max_bytes)
        self._print_lock = threading.Lock()

    def say(self, text: str) -> None:
        with self._print_lock:
            print(text, file=self.out, flush=True)

    # -- sources -------------------------------------------------------------------------------

    def crawl_bucket(self, source: Source, *, limit: int | None = None,
                     since: datetime | None = None) -> Summary:
        assert source.bucket is not None
        refs: dict[str, BuildRef] = {}
        for prefix in source.prefixes:
            for ref in discover(self.reader, source.bucket, prefix, source.exclude.allows):
                refs.setdefault(ref.location, ref)
        ordered = sorted(refs.values(), key=lambda r: (-int(r.build_id), r.path))
        return self.crawl_refs(source, ordered, limit=limit or source.limit,
                               since=since or source.since)

    def crawl_refs(self, source: Source, refs: Sequence[BuildRef], *, limit: int | None,
                   since: datetime | None) -> Summary:
        summary = Summary(found=len(refs))
        by_bucket: dict[str, list[BuildRef]] = {}
        for ref in refs:
            by_bucket.setdefault(ref.bucket, []).append(ref)
        known: dict[str, CrawlRecord] = {}
        for bucket, bucket_refs in by_bucket.items():
            known.update(self.sink.ledger(f"gs://{bucket}", bucket_refs))
        todo: list[tuple[BuildRef, CrawlRecord | None]] = []
        for ref in refs:
            record = known.get(ref.location)
            if record is None:
                summary.new += 1
            elif record.state is CrawlState.DONE or (
                    record.state is CrawlState.FAILED
                    and record.attempts >= self.settings.max_build_attempts):
                summary.skipped += 1
                continue
            todo.append((ref, record))
        if limit is not None and len(todo) > limit:
            summary.skipped += len(todo) - limit
            todo = todo[:limit]
        label = f"crawl {source.bucket or source.job_history}"
        progress = Progress(len(todo), label)
        try:
            self._run(source, todo, since, summary, progress)
        finally:
            progress.close()
        return summary

    def _run(self, source: Source, todo: list[tuple[BuildRef, CrawlRecord | None]],
             since: datetime | None, summary: Summary, progress: Progress) -> None:
        """Hand builds to worker threads through a bounded queue (memory holds about two
        builds per worker) and tally their outcomes. Each worker owns its store connection
        and releases it on its own thread (sqlite3 objects are bound to their thread)."""
        workers = max(1, min(self.settings.workers, len(todo)))
        if not todo:
            return
        tasks: queue.Queue[tuple[BuildRef, CrawlRecord | None] | None] = queue.Queue(
            maxsize=2 * workers)
        results: queue.Queue[tuple[str, int] | BaseException] = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                while True:
                    item = tasks.get()
                    if item is None or stop.is_set():
                        return
                    try:
                        results.put(self.handle(source, item[0], item[1], since))
                    except BaseException as err:  # e.g. an interrupt: let the main thread see it
                        results.put(err)
                        return
            finally:
                self.sink.release()

        threads = [threading.Thread(target=work, name=f"crawl-{i}", daemon=True)
                   for i in range(workers)]
        for thread in threads:
            thread.start()
        received = 0
        feed = iter(todo)
        outstanding = 0
        try:
            while received < len(todo):
                while outstanding < 2 * workers:
                    item = next(feed, None)
                    if item is None:
                        break
                    tasks.put(item)
                    outstanding += 1
                result = results.get()
                received += 1
                outstanding -= 1
                if isinstance(result, BaseException):
                    raise result
                outcome, junit_errors = result
                setattr(summary, outcome, getattr(summary, outcome) + 1)
                summary.junit_errors += junit_errors
                progress.step()
        finally:
            # Interrupted or done: no new builds start; those already recorded stay recorded.
            stop.set()
            for _ in threads:
                with contextlib.suppress(queue.Full):
                    tasks.put_nowait(None)
            for thread in threads:
                thread.join(timeout=JOIN_TIMEOUT)

    # -- one build -----------------------------------------------------------------------------

    def handle(self, source: Source, ref: BuildRef, record: CrawlRecord | None,
               since: datetime | None) -> tuple[str, int]:
        """Read, map and ingest one build; returns (summary field, broken JUnit files)."""
        ledger = f"gs://{ref.bucket}"
        attempts = record.attempts if record else 0
        try:
            files = read_build(self.reader, ref)
            run = map_build(files, source.payload, source.view_url)
            if source.exclude.excluded(run.job):  # the ProwJob may name the job differently
                return "skipped", 0
            started = run.fields["started_at"]
            if since is not None and started is not None and started < since:
                return "skipped", 0  # not recorded: a wider --since later still finds it
            if not run.finished:
                return self._unfinished(ledger, ref, record, run), 0
            read_artifacts(self.reader, files)
            if files.junit_errors:
                run.fields["metadata"]["crawl.junit_errors"] = "; ".join(files.junit_errors)
            if files.build_log is not None and not self.dry_run:
                run.fields["metadata"].update(keep_build_log(
                    self.reader, ref.bucket, ref.path, files.build_log, self.logs))
            if self.dry_run:
                self.say(f"would ingest {run.job} #{run.run_id}: {run.fields['status']}, "
                         f"payload {run.fields['payload'] or '-'}, "
                         f"{len(files.junit)} junit file(s) ({ref.location})")
                return "ingested", 0
            result = self.sink.ingest(run, files.junit, files.measurements)
            errors = files.junit_errors + result.junit_errors
            self.sink.record([CrawlRecord(
                ledger, ref.location, CrawlState.DONE, attempts=attempts + 1,
                reason=("junit: " + "; ".join(errors))[:2000] if errors else None,
                job=run.job, run_id=run.run_id, first_seen=record.first_seen if record else None)])
            return "ingested", len(errors)
        except Exception as err:
            reason = f"{type(err).__name__}: {err}"[:2000]
            self.say(f"failed {ref.location}: {reason}")
            if not self.dry_run:
                try:
                    self.sink.record([CrawlRecord(
                        ledger, ref.location, CrawlState.FAILED, attempts=attempts + 1,
                        reason=reason, job=ref.job, run_id=ref.build_id,
                        first_seen=record.first_seen if record else None)])
                except Exception as again:  # the ledger itself is down: say so, go on
                    self.say(f"could not record the failure of {ref.location}: {again}")
            return "failed", 0

    def _unfinished(self, ledger: str, ref: BuildRef, record: CrawlRecord | None,
                    run: MappedRun) -> str:
        now = self.now()
        began = run.fields["started_at"] or (record.first_seen if record else None) or now
        age = now - began
        if age > timedelta(seconds=self.settings.unfinished_max_age):
            note = (f"{AGED_OUT}: no finished.json {age.days} days after "
                    f"{'the start' if run.fields['started_at'] else 'it was first seen'}")
            run.fields["status"] = "error"  # an infrastructure outcome: never test evidence
            run.fields["metadata"]["crawl.aged_out"] = note
            if self.dry_run:
                self.say(f"would age out {run.job} #{run.run_id} ({note})")
            else:
                self.sink.ingest(run, ())
                self.sink.record([CrawlRecord(
                    ledger, ref.location, CrawlState.FAILED,
                    attempts=max(self.settings.max_build_attempts, 1), reason=note,
                    job=run.job, run_id=run.run_id,
                    first_seen=record.first_seen if record else None)])
            return "aged_out"
        if self.dry_run:
            self.say(f"would record {run.job} #{run.run_id} as pending ({ref.location})")
        else:
            self.sink.ingest(run, ())  # a pending run: the verdict sees the job is running
            self.sink.record([CrawlRecord(
                ledger, ref.location, CrawlState.UNFINISHED, attempts=0, job=run.job,
                run_id=run.run_id, first_seen=record.first_seen if record else None)])
        return "unfinished"
