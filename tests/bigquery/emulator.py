"""A local BigQuery emulator (bqemulator, DuckDB-backed) for tests, always stopped.

``scripts/bq-emulator.sh`` prepares ``.venv-bqemulator/`` (the emulator pins its own duckdb and
protobuf, so it cannot share the project's venv) and installs DuckDB's spatial extension into
``.venv-bqemulator/home``; the emulator would otherwise try to download it at start-up and,
without network, hang rather than fail. Hence the bounded readiness wait.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-bqemulator"
PROJECT = "test-project"


def prepare(timeout: float = 540.0) -> Path:
    """Run the idempotent setup script (a fast no-op once done); returns the emulator binary."""
    subprocess.run(["bash", str(ROOT / "scripts" / "bq-emulator.sh")], check=True,
                   timeout=timeout, stdout=subprocess.DEVNULL)
    return VENV / "bin" / "bqemulator"


@dataclass
class Emulator:
    """One emulator process on free loopback ports, with ``--ephemeral`` (in-memory) data."""

    log_path: Path
    project: str = PROJECT
    port: int = 0
    grpc_port: int = 0  # the Storage Write API (api/store/bigquery/streams.py)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def grpc_endpoint(self) -> str:
        """``HOST:PORT`` of its gRPC server (``FLAKEGATE_BIGQUERY_WRITE_ENDPOINT``)."""
        return f"127.0.0.1:{self.grpc_port}"

    def environ(self) -> dict[str, str]:
        """The variables that point flakegate's BigQuery backend at this emulator."""
        return {"FLAKEGATE_BIGQUERY_ENDPOINT": self.endpoint,
                "FLAKEGATE_BIGQUERY_WRITE_ENDPOINT": self.grpc_endpoint}

    def start(self, *, ready_timeout: float = 60.0) -> Emulator:
        binary = prepare()
        self.port = free_port()
        self.grpc_port = free_port()
        env = {**os.environ, "HOME": str(VENV / "home")}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(binary), "start", "--rest-host", "127.0.0.1", "--rest-port", str(self.port),
             "--grpc-host", "127.0.0.1", "--grpc-port", str(self.grpc_port), "--ephemeral",
             "--project", self.project],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own group: stop() ends it and any children
            preexec_fn=_die_with_parent,
        )
        try:
            wait_until_ready(self.process, f"{self.endpoint}/healthz", timeout=ready_timeout,
                             what="bqemulator", log=self.log,
                             ready=lambda response: response.status_code == 200)
        except RuntimeError:
            self.stop()
            raise
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the test process dies (Linux), so that even
    a killed pytest leaves no emulator behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


_shared: Emulator | None = None


def shared_emulator(log_dir: Path | None = None) -> Emulator:
    """The test session's one emulator, started on first use and stopped at exit.

    Shared by ``tests/store`` (the contract suite's bigquery backend) and ``tests/bigquery``,
    whose fixtures cannot see each other; each test then gets its own dataset.
    """
    global _shared
    if _shared is None:
        import atexit
        import tempfile

        folder = log_dir or Path(tempfile.mkdtemp(prefix="bqemulator-"))
        emulator = Emulator(folder / "bqemulator.log")
        emulator.start()
        atexit.register(emulator.stop)
        _shared = emulator
    return _shared


def stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None
