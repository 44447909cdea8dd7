"""The server keeps baselines current by itself: every ``FLAKEGATE_BASELINE_EVERY`` (default
``6h``; ``0`` turns it off) each job's baseline is refreshed, and a job that has none gets its
first as soon as its window holds enough counted runs (SPEC section 5: nobody has to remember a
cron, and a team adopting only the action still gets a gate).

**Where it runs: a daemon thread in every gunicorn worker, started after the fork**
(``post_worker_init``). A worker thread lives and dies with its worker, and gunicorn already
replaces a worker that exits and starts fresh workers on a HUP or a restart, so the schedule
survives all three without supervision code of its own. The alternatives were worse: a thread
of the master would be copied, mid-flight, into every forked worker (the fork hazard the old
child process avoided), and a child process of the master needs its own restart logic and dies
unnoticed. Running in every worker would repeat the work, so the workers of every server on one
database coordinate through leases in the store (atomic on both backends):

* ``baselines:tick`` (held just under a tick): each tick, one scheduler of all the workers of
  all the servers does the sweep; the others find it held and sleep. The store sees one sweep
  per tick, however many processes run.
* ``baselines:period`` (held for the period): the sweep that takes it refreshes every job, so
  each job is recomputed once per period across servers. Other sweeps only look for jobs
  without a baseline (first need).
* ``baselines:disruption`` (held while computing): the period's sweep also refreshes the
  disruption and alert baselines (SPEC §9), one process at a time.
* ``baseline:JOB`` (held while computing, released after; expires after :data:`JOB_LEASE_S` if
  its holder died): one recompute of a job at a time, even when a sweep outlasts its tick.

A refresh writes a version only when something changed (:func:`api.services.baselines.refresh`),
so restarts, reloads and overlapping sweeps never mint versions of an unchanged window.

**First need** is met by the sweep, every tick (the period, at most :data:`MAX_TICK_S`): jobs
without a baseline (each process remembers the jobs it has seen with one, so a steady state costs
one ``list_jobs`` per tick) get a first version once they have
:data:`~api.services.baselines.MIN_RUNS` counted runs. Not in the verdict request: a verdict
stays a read (read-only tokens and credentials can ask for it, its latency stays bounded, a GET
writes nothing), and the first baseline arrives within a tick of the third run. Until then the
verdict says the job has no baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from api.config import load_config
from api.hooks.publish_trigger import after_baseline
from api.services import baselines, disruption_baselines
from api.serving.periodic import StoreTicker, process_holder
from api.store import Store, StoreError
from client.durations import parse_duration

MAX_TICK_S = 60.0
JOB_LEASE_S = 15 * 60.0
TICK_LEASE, PERIOD_LEASE = "baselines:tick", "baselines:period"
DISRUPTION_LEASE = "baselines:disruption"  # one disruption/alert refresh at a time (SPEC §9)


def schedule_period(config: Mapping[str, Any]) -> float:
    """Seconds between refreshes from ``BASELINE_EVERY`` (``30s``, ``10m``, ``6h``); 0: off."""
    raw = config["BASELINE_EVERY"]
    try:
        return parse_duration(str(raw))
    except ValueError:
        raise ValueError(f"FLAKEGATE_BASELINE_EVERY must be a duration such as 30s, 10m or 6h,"
                         f" or 0 to turn the schedule off; got {raw!r}") from None


class BaselineSchedule:
    """One process's part of the schedule: :meth:`sweep` once per tick on its own thread."""

    def __init__(self, database: str, every: float, *,
                 log: Callable[[str], None] = lambda message: None) -> None:
        if every <= 0:
            raise ValueError("the schedule needs a positive period")
        self.database = database
        self.every = every
        self.tick = min(every, MAX_TICK_S)
        self.holder = process_holder()
        self._log = log
        self._known: set[str] = set()  # jobs seen with a baseline: never without one again
        self._ticker = StoreTicker(database, self.tick, self.sweep, name="baselines", log=log)

    def start(self) -> None:
        self._ticker.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._ticker.stop(timeout)

    def sweep(self, store: Store) -> list[baselines.Refreshed]:
        """One tick's work, if this process takes the tick; what it did per job it looked at."""
        if not store.acquire_lease(TICK_LEASE, self.holder, self.tick * 0.9):
            return []
        full = store.acquire_lease(PERIOD_LEASE, self.holder,
                                   max(self.every - self.tick / 2, self.tick / 2))
        if full:
            self._refresh_disruption(store)
        done = []
        for job in baselines.job_names(store):
            if not full and (job in self._known or store.get_baseline(job) is not None):
                self._known.add(job)
                continue
            refreshed = self._refresh(store, job)
            if refreshed is not None:
                done.append(refreshed)
        return done

    def _refresh(self, store: Store, job: str) -> baselines.Refreshed | None:
        lease = f"baseline:{job}"
        if not store.acquire_lease(lease, self.holder, JOB_LEASE_S):
            return None  # another process is computing it right now
        try:
            refreshed = baselines.refresh(store, job, note="scheduled")
        except StoreError as exc:  # e.g. the job was deleted meanwhile: the next tick sees it
            self._log(f"baseline schedule: {job}: {exc}")
            return None
        finally:
            store.release_lease(lease, self.holder)
        if refreshed.version is not None:
            self._known.add(job)
        if refreshed.written:
            self._log(f"baseline schedule: {refreshed.describe()}")
            # GitHub (issue 14): the job's recent payloads are judged anew: publish them.
            after_baseline(store, load_config(), job)
        return refreshed

    def _refresh_disruption(self, store: Store) -> None:
        """Once per period: the disruption and alert baselines (all jobs' runs), each kind
        written only when it changed, under its own lease like a job's recompute."""
        if not store.acquire_lease(DISRUPTION_LEASE, self.holder, JOB_LEASE_S):
            return
        try:
            for refreshed in disruption_baselines.refresh_all(store):
                if refreshed.written and refreshed.version is not None:
                    self._log(f"baseline schedule: {refreshed.kind.value} baselines version "
                              f"{refreshed.version.version} ({refreshed.version.rows} rows)")
        except StoreError as exc:
            self._log(f"baseline schedule: disruption baselines: {exc}")
        finally:
            store.release_lease(DISRUPTION_LEASE, self.holder)
