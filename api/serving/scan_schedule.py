"""The server runs queued and interrupted scans by itself (:mod:`api.services.scans`): a daemon
thread in every gunicorn worker, started after the fork, as the baseline schedule is (see
:mod:`api.serving.baseline_schedule` for why a worker thread rather than the master or a child
process).

Every ``FLAKEGATE_SCAN_EVERY`` (default ``10s``; ``0`` turns it off) the thread runs the open
scans for at most one tick's budget. Workers coordinate through the store lease each scan holds
while it runs (``scan:<id>``): a scan runs in one worker at a time across all servers on the
database, the others skip it, and a scan whose worker died resumes from its persisted cursor
once the lease expires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from api.services import scans
from api.serving.periodic import StoreTicker, process_holder
from api.store import Store
from api.store.patterns import ScanState
from client.durations import parse_duration

# A tick's scanning budget is capped: a worker thread shares its process with requests.
MAX_BUDGET_S = 60.0


def scan_period(config: Mapping[str, Any]) -> float:
    """Seconds between ticks from ``SCAN_EVERY``; 0: off."""
    raw = config["SCAN_EVERY"]
    try:
        return parse_duration(str(raw))
    except ValueError:
        raise ValueError(f"FLAKEGATE_SCAN_EVERY must be a duration such as 10s or 1m, or 0 to"
                         f" turn background scans off; got {raw!r}") from None


class ScanSchedule:
    """One process's share of the background scans: :meth:`tick` on its own thread."""

    def __init__(self, database: str, every: float, *, passing_every: int,
                 log: Callable[[str], None] = lambda message: None) -> None:
        if every <= 0:
            raise ValueError("the schedule needs a positive period")
        self.database = database
        self.every = every
        self.passing_every = passing_every
        self.holder = process_holder()
        self._log = log
        self._ticker = StoreTicker(database, every, self.tick, name="scans", log=log)

    def start(self) -> None:
        self._ticker.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._ticker.stop(timeout)

    def tick(self, store: Store) -> None:
        for record in scans.run_open_scans(store, holder=self.holder,
                                           passing_every=self.passing_every,
                                           budget_s=min(self.every, MAX_BUDGET_S),
                                           log=self._log):
            if record.state is ScanState.DONE:
                self._log(f"scan {record.id} ({record.kind.value}) done:"
                          f" {record.logs_scanned} logs, {record.matches} matches")


def check_scan_config(config: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` (one line) for a patterns setting the server must not start with."""
    from api.services.patterns import generic_share

    scan_period(config)
    generic_share(config["GENERIC_PATTERN_SHARE"])
    if int(config["SCAN_PASSING_EVERY"]) < 0:
        raise ValueError("FLAKEGATE_SCAN_PASSING_EVERY must be 0 (none), 1 (all) or more")
