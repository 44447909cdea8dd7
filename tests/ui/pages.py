"""THE list of pages the browser tests open on the demo data. To cover a new page, add a
:class:`PageCheck`: its URL (built from the demo's summary), the texts that must be on it, and
whether it draws a chart. Every listed page must also pass the common checks (no console
error, no failed request, no serious or critical accessibility violation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from api.demo import DemoSummary


@dataclass(frozen=True)
class PageCheck:
    name: str  # also the screenshot's file name
    path: Callable[[DemoSummary], str]
    texts: Callable[[DemoSummary], list[str]] = field(default=lambda demo: [])
    chart: bool = False  # at least one chart drawn (data-drawn="true")


PAGES: list[PageCheck] = [
    PageCheck("home", lambda demo: "/ui/", lambda demo: ["Jobs", demo.jobs[0]]),
]
