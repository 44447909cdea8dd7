"""Helpers for the real servers and emulators the tests start on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

import requests


def free_port() -> int:
    """A loopback port nobody listens on (closed again before it is returned)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(process: subprocess.Popen[bytes], probe_url: str, *, timeout: float,
                     what: str, log: Callable[[], str] = lambda: "",
                     ready: Callable[[requests.Response], bool] = lambda r: r.ok) -> None:
    """Poll ``probe_url`` until ``ready`` says yes; raise (with the log) if the process dies
    or the timeout passes. The caller stops the process on failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited at start-up:\n{log()}")
        try:
            if ready(requests.get(probe_url, timeout=1)):
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready within {timeout}s:\n{log()}")
