from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import LiveServer

ADMIN = "fg_live-admin-token-long-enough-for-the-32-char-rule"


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(f"sqlite:///{tmp_path / 'live.db'}", ADMIN, workers=2).start()
    try:
        yield server
    finally:
        server.stop()
