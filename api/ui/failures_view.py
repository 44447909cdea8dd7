"""What the failure-cause pages show, from the services (Flask-free): pattern frequencies per
day, recent failures with their decisive line in context, the breakage timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from api import pages_urls
from api.failures.model import Breakage, Classification
from api.services import failures
from api.store import Store
from api.store.patterns import MatchCount

CLUSTER_RUNS = 1000  # the newest failed runs the clusters are built from (the API's default)
RECENT_FAILURES = 25  # failures listed with their decisive line in context
CONTEXT_LINES = 3  # lines shown before and after a decisive line


def frequencies(counts: Sequence[MatchCount], since: datetime
                ) -> tuple[list[str], dict[int, int], dict[tuple[int, str], int]]:
    """Every day since ``since`` (YYYY-MM-DD), each pattern's total runs, and its runs per day
    (summed over jobs)."""
    first = since.date()
    days = [(first + timedelta(days=n)).isoformat()
            for n in range((datetime.now(since.tzinfo).date() - first).days + 1)]
    totals: dict[int, int] = {}
    per_day: dict[tuple[int, str], int] = {}
    for count in counts:
        totals[count.pattern_id] = totals.get(count.pattern_id, 0) + count.runs
        key = (count.pattern_id, count.day)
        per_day[key] = per_day.get(key, 0) + count.runs
    return days, totals, per_day


@dataclass(frozen=True, slots=True)
class RecentFailure:
    classification: Classification
    at: datetime
    payload: str | None
    excused_by: str | None
    step: str | None
    line: int | None
    context: tuple[tuple[int, str], ...]  # (line number, text) around the decisive line
    log_url: str


def recent_failures(store: Store, *, since: datetime,
                    generic_share: float) -> list[RecentFailure]:
    """The newest failed runs, classified, each with its decisive line in its log's context."""
    failed = store.breakages.failed_runs(since=since, limit=RECENT_FAILURES)
    by_job = failures.classify_failed(store, failed, generic_share=generic_share)
    causes = {(c.classification.job, c.classification.run_id): c
              for found in by_job.values() for c in found.causes}
    keys = [(m.job, m.run_id, m.step) for c in causes.values()
            if (m := c.classification.decisive) is not None]
    texts = store.logs.get_texts(keys) if keys else {}
    shown = []
    for run in failed:
        cause = causes.get((run.job, run.run_id))
        if cause is None:
            continue
        decisive = cause.classification.decisive
        context: tuple[tuple[int, str], ...] = ()
        if decisive is not None:
            text = texts.get((decisive.job, decisive.run_id, decisive.step))
            if text is not None:
                lines = text.split("\n")
                at = decisive.line.line_number
                low, high = max(1, at - CONTEXT_LINES), min(len(lines), at + CONTEXT_LINES)
                context = tuple((n, lines[n - 1]) for n in range(low, high + 1))
        shown.append(RecentFailure(
            classification=cause.classification, at=run.at, payload=run.payload,
            excused_by=cause.excused_by, step=decisive.step if decisive else None,
            line=decisive.line.line_number if decisive else None, context=context,
            log_url=pages_urls.log_page(run.job, run.run_id,
                                        decisive.line.line_number if decisive else None,
                                        step=decisive.step if decisive else None)))
    return shown


@dataclass(frozen=True, slots=True)
class TimelineBar:
    breakage: Breakage
    offset: float  # percent of the timeline's width before the bar starts
    width: float  # percent of the timeline's width the bar spans (at least 0.5)


def timeline(items: Sequence[Breakage], now: datetime) -> tuple[datetime | None,
                                                                 list[TimelineBar]]:
    """Each breakage as a bar from its start to its resolution (or now), oldest first, over the
    span from the earliest start to now."""
    if not items:
        return None, []
    start = min(b.started for b in items)
    span = max((now - start).total_seconds(), 1.0)
    bars = []
    for item in sorted(items, key=lambda b: (b.started, b.id)):
        end = item.resolved or now
        offset = 100 * (item.started - start).total_seconds() / span
        width = max(0.5, 100 * (end - item.started).total_seconds() / span)
        bars.append(TimelineBar(item, round(offset, 2), round(min(width, 100 - offset), 2)))
    return start, bars
