"""A real PostgreSQL server for tests: Debian's binaries, a temporary cluster, a free port.

One server per test session (``shared_postgres()``, started on first use, stopped at exit with
``pg_ctl stop -m fast``); each test gets its own schema in it (``fresh_url()``), which costs a
millisecond where a database per test would cost a template copy. PostgreSQL refuses to run as
root, so as root the cluster belongs to an unprivileged system user (created when missing) and
the server runs under ``runuser``. ``make test`` installs the binaries
(``scripts/system-deps.sh``); without them the PostgreSQL tests are skipped, except in CI.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import free_port

SERVICE_USER = "flakegate-pg"
SUPERUSER = "flakegate"
DATABASE = "flakegate"


def binaries() -> Path | None:
    """The newest installed ``/usr/lib/postgresql/N/bin`` holding initdb and postgres."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda path: int(Path(path).parent.parent.name)
                   if Path(path).parent.parent.name.isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _as_service_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SERVICE_USER, "--", *command]


def _ensure_service_user() -> None:
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        SERVICE_USER], check=True, capture_output=True)


@dataclass
class PostgresServer:
    """One cluster in a temporary directory, listening on 127.0.0.1:``port`` (trust auth)."""

    bin_dir: Path
    root: Path
    port: int = 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = DATABASE, **query: str) -> str:
        extra = "&".join(f"{key}={value}" for key, value in query.items())
        return (f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"
                + (f"?{extra}" if extra else ""))

    def start(self, timeout: float = 60.0) -> PostgresServer:
        _ensure_service_user()
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, SERVICE_USER, SERVICE_USER)
        subprocess.run(_as_service_user(
            [str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
             "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"]),
            check=True, capture_output=True, timeout=timeout)
        self.port = free_port()
        # Durability is not under test: fsync off makes each test's DDL cheap.
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port}"
                   f" -c unix_socket_directories={self.root} -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(_as_service_user(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
             "-o", options, "-w", "-t", str(int(timeout)), "start"]),
            check=True, capture_output=True, timeout=timeout + 10)
        subprocess.run(_as_service_user(
            [str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", SUPERUSER, DATABASE]), check=True, capture_output=True, timeout=timeout)
        return self

    def stop(self) -> None:
        if not self.data.exists():
            return
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(_as_service_user(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                 "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""

    def fresh_url(self) -> str:
        """A URL on a new, empty schema of the session's database."""
        import psycopg

        schema = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return self.url(schema=schema)


_shared: PostgresServer | None = None


def shared_postgres() -> PostgresServer:
    """The session's one server (started on first use, stopped at exit); skips the test when
    PostgreSQL is not installed, unless in CI, where that is a failure."""
    global _shared
    if _shared is None:
        bin_dir = binaries()
        if bin_dir is None:
            reason = "PostgreSQL is not installed (scripts/system-deps.sh installs it)"
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
        server = PostgresServer(bin_dir, Path(tempfile.mkdtemp(prefix="flakegate-pg-")))
        atexit.register(server.stop)
        try:
            server.start()
        except subprocess.CalledProcessError as exc:
            server.stop()
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r}") from exc
        _shared = server
    return _shared

