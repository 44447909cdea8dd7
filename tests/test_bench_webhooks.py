"""The webhook acknowledgement benchmark still runs, tiny, as the script users run."""

from __future__ import annotations

import subprocess
import sys

from tests.fixtures import ROOT


def test_a_tiny_run_of_the_webhook_ack_bench() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "webhook_ack.py"),
                           "--deliveries", "5"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deliveries: 5 of" in done.stdout
    assert "ratio ack/healthz (p50):" in done.stdout
