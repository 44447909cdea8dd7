"""Running the app under gunicorn from the ``serve`` command.

The serving model (docs/serving.md): ``workers`` processes of :class:`FlakegateWorker` (gthread
with the request read in the event loop), ``threads`` threads each; bounded keep-alive; an
access log with credentials masked. Each worker also runs its part of the baseline schedule
(:mod:`api.serving.baseline_schedule`, which says why it lives there).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication

from api.names import REQUEST_LINE_LIMIT


class _FlakegateServer(BaseApplication):
    def __init__(self, database: str, options: dict[str, Any]) -> None:
        self.database = database
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Built in each worker after the fork, so no connection is shared across processes.
        from api import create_app

        return create_app({"DATABASE": self.database})


def _child_exit(_server: Any, worker: Any) -> None:
    # Counters and histograms of a dead worker stay in its files and keep counting in the
    # totals (prometheus-client's multiprocess mode); this drops its live-gauge files.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _post_worker_init(worker: Any) -> None:
    # The app is loaded in each worker after its fork: this line says the worker can answer.
    worker.log.info("Worker ready (pid: %s)", worker.pid)
    from api.config import load_config
    from api.serving.baseline_schedule import BaselineSchedule, schedule_period

    every = schedule_period(load_config())  # validated by the master before any fork
    if every > 0:
        worker.baseline_schedule = BaselineSchedule(worker.app.database, every,
                                                    log=worker.log.info)
        worker.baseline_schedule.start()
    # -- patterns: queued and interrupted scans (api/serving/scan_schedule.py) --
    from api.serving.scan_schedule import ScanSchedule, scan_period

    config = load_config()
    if scan_period(config) > 0:
        worker.scan_schedule = ScanSchedule(worker.app.database, scan_period(config),
                                            passing_every=int(config["SCAN_PASSING_EVERY"]),
                                            log=worker.log.info)
        worker.scan_schedule.start()
    # -- GitHub webhooks and publications: the durable work queue (api/serving/work_schedule.py)
    from api.serving.work_schedule import start_work_schedule

    worker.work_schedule = start_work_schedule(worker.app.database, config, log=worker.log.info)


def _worker_exit(_server: Any, worker: Any) -> None:
    # A schedule stopped mid-write loses nothing (the store's writes are atomic) and its job
    # lease expires; stopping it here just lets a sweep in progress end cleanly.
    for name in ("baseline_schedule", "scan_schedule", "work_schedule"):
        schedule = getattr(worker, name, None)
        if schedule is not None:
            schedule.stop()


def _when_ready(server: Any) -> None:
    host, port = server.address[0] if server.address else ("?", "?")
    print(f"flakegate is listening on http://{host}:{port}  "
          f"(health: /healthz, contract: /openapi.yaml, metrics: /metrics)", flush=True)


def serve(database: str, *, host: str, port: int, workers: int, timeout: int,
          threads: int = 8, keepalive: int = 5, graceful_timeout: int = 30) -> int:
    # Each worker is a process; Prometheus counters must be pooled through files to be whole.
    metrics_dir = tempfile.mkdtemp(prefix="flakegate-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "api.serving.worker.FlakegateWorker",
        "threads": threads,
        "keepalive": keepalive,
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,
        # gunicorn's largest request line, so that every URL built from valid names fits
        # (api.names bounds names in UTF-8 bytes for this; tests/api/test_names_rule.py).
        "limit_request_line": REQUEST_LINE_LIMIT,
        "accesslog": "-",
        "logger_class": "api.serving.redact.RedactingLogger",
        # gunicorn's default line plus the worker's pid: which process served a request.
        "access_log_format": '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" '
                             "pid=%(p)s",
        # gunicorn 27's control socket lives under $HOME, shared by every server of a user;
        # flakegate does not use it.
        "control_socket_disable": True,
        "child_exit": _child_exit,
        "when_ready": _when_ready,
        "post_worker_init": _post_worker_init,
        "worker_exit": _worker_exit,
    }
    master = os.getpid()
    try:
        _FlakegateServer(database, options).run()
    finally:
        # A worker leaves run() by SystemExit through this very frame (it was forked inside
        # run()): only the master owns the metrics directory.
        if os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
