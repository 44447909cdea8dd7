"""A real flakegate server under gunicorn, on a free loopback port, for tests and benchmarks.

Started with the ``flakegate serve`` command itself, so the tests exercise what users run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fixtures import ROOT
from tests.processes import free_port, wait_until_ready


def sqlite_path(url: str) -> Path:
    """The file behind a ``sqlite://`` store URL (however many slashes lead the path)."""
    from urllib.parse import unquote, urlsplit

    return Path(unquote(urlsplit(url).path))


@dataclass
class LiveServer:
    database_url: str
    admin_token: str
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # Where the log goes for a store that is not a file (postgresql://); beside the file else.
    log_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, ready_timeout: float = 30.0) -> LiveServer:
        self.port = free_port()
        # The baseline schedule writes versions on its own clock; a test that wants it sets
        # FLAKEGATE_BASELINE_EVERY in extra_env, the others judge the baselines they wrote.
        env = {**os.environ, "FLAKEGATE_ADMIN_TOKEN": self.admin_token,
               "FLAKEGATE_BASELINE_EVERY": "0", **self.extra_env}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log_path = (self.log_dir / f"server.{self.port}.log" if self.log_dir is not None
                         else sqlite_path(self.database_url).with_suffix(f".{self.port}.log"))
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "client.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers),
             "--db", self.database_url, *self.extra_args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we can kill master and workers
        )
        try:
            wait_until_ready(self.process, f"{self.url}/healthz", timeout=ready_timeout,
                             what="flakegate server", log=self.log)
            # /healthz answers once one worker is up; tests that spread load need them all.
            self.wait_for_workers(self.workers, timeout=ready_timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def ready_workers(self) -> list[int]:
        """Pids of the workers that logged "Worker ready", in order (restarts included)."""
        text = self.log_path.read_text(errors="replace") if self.log_path else ""
        return [int(pid) for pid in re.findall(r"Worker ready \(pid: (\d+)\)", text)]

    def wait_for_workers(self, count: int, *, timeout: float) -> None:
        """Until ``count`` workers have logged that they are ready (restarts included)."""
        deadline = time.monotonic() + timeout
        while len(self.ready_workers()) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} workers not ready in {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL the whole process group: no graceful shutdown, as in a crash."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.admin_token}"}
