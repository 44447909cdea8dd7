"""THE list of pages the browser tests open on the demo data. To cover a new page, add a
:class:`PageCheck`: its URL (built from the demo's summary), the texts that must be on it, and
whether it draws a chart. Every listed page must also pass the common checks (no console
error, no failed request, no serious or critical accessibility violation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from api import pages_urls
from api.demo import DemoSummary
from api.pages_urls import job_page, page_for_test

DEMO_SUITE = "openshift-tests"  # the suite of every demo test (api/demo.py)


@dataclass(frozen=True)
class PageCheck:
    name: str  # also the screenshot's file name
    path: Callable[[DemoSummary], str]
    texts: Callable[[DemoSummary], list[str]] = field(default=lambda demo: [])
    chart: bool = False  # at least one chart drawn (data-drawn="true")


def demo_run_id(demo: DemoSummary, job_index: int = 0, attempt: int = 0) -> str:
    """The id :func:`api.demo.load_demo` gives a run of its newest payload (its night's start
    is in the payload's name; runs start ten minutes apart, offset by the job's index)."""
    night = datetime.strptime(demo.payload.rsplit("nightly-", 1)[1], "%Y-%m-%d-%H%M%S")
    started = night + timedelta(minutes=10 * attempt + job_index)
    return f"{started:%Y%m%d%H%M}{job_index}{attempt:02d}"


PAGES: list[PageCheck] = [
    PageCheck("home", lambda demo: "/ui/", lambda demo: ["Jobs", demo.jobs[0]]),
    # -- the job, test and disruption pages (uidata) --
    PageCheck("job", lambda demo: job_page(demo.regressed_job),
              lambda demo: ["Runs over time", "Least stable tests", "Baseline versions",
                            "Audit trail", "false_block_budget"], chart=True),
    PageCheck("test", lambda demo: page_for_test(demo.regressed_job, DEMO_SUITE,
                                                 demo.regressed_test),
              lambda demo: [demo.regressed_test, "Pass rate over time", "By payload",
                            demo.payload], chart=True),
    PageCheck("disruption", lambda demo: "/ui/disruption",
              lambda demo: ["Disruption and alert baselines", "kube-api-new-connections",
                            "Across versions"], chart=True),
    PageCheck("payload", lambda demo: pages_urls.payload_page(demo.payload),
              lambda demo: [demo.payload, demo.regressed_test, "Regressions", "Runs",
                            "Disruption and alerts", "infra"]),
    PageCheck("log", lambda demo: pages_urls.log_page(demo.regressed_job, demo_run_id(demo)),
              lambda demo: [demo_run_id(demo), "Step", "lines"]),
    PageCheck("patterns", lambda demo: "/ui/patterns",
              lambda demo: ["Failure patterns", "New pattern", "infra"], chart=True),
    PageCheck("failures", lambda demo: "/ui/failures",
              lambda demo: ["Unexplained failures", "Recent failures", "decisive"]),
    PageCheck("breakages", lambda demo: "/ui/breakages",
              lambda demo: ["Known breakages", "Declare a breakage"]),
]
