"""/metrics under gunicorn counts what every worker answered (Prometheus multiprocess mode)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.live_server import LiveServer

pytestmark = pytest.mark.slow


def _healthz_count(text: str) -> float:
    match = re.search(r'flakegate_http_requests_total\{method="GET",route="/healthz",'
                      r'status="200"\} ([0-9.e+]+)', text)
    return float(match.group(1)) if match else 0.0


def test_metrics_aggregate_every_worker(live_server: LiveServer) -> None:
    before = _healthz_count(requests.get(f"{live_server.url}/metrics", timeout=10).text)

    def hit(_: int) -> int:
        # A new connection each time, concurrently, so both workers must take some.
        return requests.get(f"{live_server.url}/healthz", timeout=10,
                            headers={"Connection": "close"}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(hit, range(80))) == {200}
    served_by = set(re.findall(r'"GET /healthz HTTP/1.1" 200 .* pid=<(\d+)>',
                               live_server.log()))
    assert len(served_by) == 2, "both workers answered, so the total below spans processes"
    after = _healthz_count(requests.get(f"{live_server.url}/metrics", timeout=10).text)
    assert after - before == 80
