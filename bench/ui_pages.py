"""Server time of the payload page, and the heaviest page's transfer size.

The setup of ``bench/verdict.py`` (its builder is reused): a payload with 3 jobs x 10 runs x
``--tests`` tests (default 5,000), judged against baselines computed from ``--history-runs``
(default 1,000) runs per job. Measured in process through the app (Flask's test client: the
server's time, no network), each against a reference measured in the same run:

* ``/ui/payloads/{id}`` (target: median <= 200 ms) against ``GET /payloads/{id}/verdict`` (the
  JSON the page is built from), both with the verdict cache off (every request judges) and on
  (the steady state: the verdict is judged again only when something changed);
* the transfer size (gzip) of each page with every asset it loads (CSS, the chart library and
  our script); target for the heaviest: <= 300 KB.

    python bench/ui_pages.py [--history-runs 1000] [--tests 5000] [--repeat 15] [--db PATH]
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import verdict as verdict_bench  # noqa: E402  (bench/verdict.py: the same data)

from api.app import create_app  # noqa: E402
from api.pages_urls import job_page, payload_page  # noqa: E402
from api.services import baselines  # noqa: E402
from api.store import open_store  # noqa: E402

ASSET = re.compile(r'(?:href|src)="(/ui/static/[^"]+)"')


def median_ms(call: Callable[[], Any], repeat: int) -> float:
    call()
    call()  # the first calls warm SQLite's page cache and numpy's code paths
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = call()
        samples.append(time.perf_counter() - began)
        assert answer.status_code == 200, answer.status_code
    return statistics.median(samples) * 1000


def transfer_kb(client: Any, path: str) -> tuple[float, int]:
    """gzip KB of the page and every asset it links, and how many assets."""
    html = client.get(path).get_data()
    assets = sorted(set(ASSET.findall(html.decode())))
    total = len(gzip.compress(html))
    for asset in assets:
        total += len(gzip.compress(client.get(asset).get_data()))
    return total / 1000, len(assets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history-runs", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db", type=Path, default=None,
                        help="reuse (or create) this database instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flakegate-ui-") as tmp:
        path = args.db or Path(tmp) / "ui.db"
        url = f"sqlite://{path.resolve()}"
        if not path.exists():
            verdict_bench.build(url, args.history_runs, args.tests)
            store = open_store(url)
            for job in verdict_bench.JOBS:
                baselines.compute(store, job, window_days=30, max_runs=args.history_runs,
                                  exclude_payload=verdict_bench.PAYLOAD)
            store.close()
        payload = verdict_bench.PAYLOAD
        rows = []
        for cache in (False, True):
            app = create_app({"DATABASE": url, "PUBLIC_READ": True, "VERDICT_CACHE": cache})
            client = app.test_client()
            page = median_ms(lambda c=client: c.get(payload_page(payload)), args.repeat)
            json = median_ms(lambda c=client: c.get(f"/payloads/{payload}/verdict"), args.repeat)
            rows.append((cache, page, json))
        app = create_app({"DATABASE": url, "PUBLIC_READ": True})
        client = app.test_client()
        sizes = {name: transfer_kb(client, page_path) for name, page_path in (
            ("home", "/ui/"), ("payload", payload_page(payload)),
            ("job", job_page(verdict_bench.JOBS[0])), ("patterns", "/ui/patterns"),
            ("failures", "/ui/failures"), ("breakages", "/ui/breakages"))}
    print(f"\n3 jobs x 10 runs x {args.tests} tests against {args.history_runs}-run baselines")
    print("\n| measurement | page | reference (JSON verdict) | ratio | target |")
    print("|---|---:|---:|---:|---|")
    for cache, page, json in rows:
        state = "cache on (steady state)" if cache else "cache off (every request judges)"
        target = "<= 200 ms" if not cache else ""
        print(f"| /ui/payloads/{{id}}, {state}, median of {args.repeat} | {page:.1f} ms | "
              f"{json:.1f} ms | {page / json:.2f} | {target} |")
    heaviest = max(sizes, key=lambda name: sizes[name][0])
    print("\n| page | transfer, gzip (HTML + assets) | assets |\n|---|---:|---:|")
    for name, (kb, assets) in sizes.items():
        mark = " (heaviest; target <= 300 KB)" if name == heaviest else ""
        print(f"| {name}{mark} | {kb:.1f} KB | {assets} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
