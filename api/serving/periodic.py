"""A worker's background schedule: a daemon thread that calls one function with a store, at a
fixed interval, for as long as the worker lives (see :mod:`api.serving.baseline_schedule` for
why a thread per worker, and how workers share the work through store leases).

The thread outlives any one failure: the error is logged and the store reopened on the next
tick (the failure may have been the connection). Workers start together after the fork, so the
first tick waits a random fraction of a second, and they do not race for every lease at once.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable

from api.store import Store, open_store


def process_holder() -> str:
    """A lease holder name unique to this process and this schedule: host, pid, random."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def close_quietly(store: Store | None) -> None:
    if store is not None:
        with contextlib.suppress(Exception):  # a broken handle must not end the thread
            store.close()


class StoreTicker:
    """Call ``work(store)`` every ``interval`` seconds on a daemon thread named ``name``."""

    def __init__(self, database: str, interval: float, work: Callable[[Store], object], *,
                 name: str, log: Callable[[str], None]) -> None:
        self.database = database
        self.interval = interval
        self._work = work
        self._name = name
        self._log = log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"flakegate-{self._name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        self._stop.wait(random.uniform(0, min(self.interval, 1.0)))
        store: Store | None = None
        while not self._stop.is_set():
            try:
                # create=False: a database deleted while serving stays gone (as in api/db.py)
                store = store or open_store(self.database, create=False)
                self._work(store)
            except Exception as exc:  # the schedule outlives any one failure (logged)
                self._log(f"{self._name} schedule: tick failed: {exc!r}")
                close_quietly(store)
                store = None
            self._stop.wait(self.interval)
        close_quietly(store)
