"""``/ui/patterns``, ``/ui/failures``, ``/ui/breakages``: why runs fail (SPEC §10).

Pattern frequencies over time (a chart and its table), recent failures with their decisive
line in context, the unexplained-failure clusters, and the breakage timeline. Admins create and
retire patterns and declare and resolve breakages from forms: each POST checks the CSRF token
and the admin scope server-side, and goes through the same audited services as the API.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import g, redirect, render_template, request
from werkzeug.datastructures import MultiDict

from api.db import get_store
from api.domain import Scope
from api.routes.failures import generic_share
from api.schemas.breakages import BreakageCreateSchema, BreakageResolveSchema
from api.schemas.patterns import PatternCreateSchema, RetireSchema
from api.services import breakages, failure_logs, failures, patterns
from api.ui import failures_view
from api.ui.blueprint import bp
from api.ui.charts import chart
from api.ui.security import check_csrf
from api.ui.session import page

log = logging.getLogger(__name__)
SINCE = timedelta(days=14)
PATTERNS_SHOWN = 200
BREAKAGES_SHOWN = 100
CHARTED_PATTERNS = 6  # the most frequent; the table lists every pattern's total


def _words(text: str) -> list[str]:
    """A form's list field: comma- or line-separated, blanks dropped."""
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _form(names: tuple[str, ...], lists: tuple[str, ...] = (),
          numbers: tuple[str, ...] = ()) -> dict[str, Any]:
    """The form's fields as the API's JSON would carry them, for the same schemas."""
    form: MultiDict[str, str] = request.form
    fields: dict[str, Any] = {}
    for name in names:
        value = form.get(name, "").strip()
        if value:
            # A form sends text; a field the schema wants whole is sent as one when it is.
            fields[name] = int(value) if name in numbers and value.isascii() and value.isdigit() \
                and len(value) < 20 else value
    for name in lists:
        fields[name] = _words(form.get(name, ""))
    return fields


@bp.get("/patterns")
@page()
def patterns_page() -> str:
    store = get_store()
    retired = request.args.get("retired") == "1"
    listed = store.patterns.list_patterns(include_retired=retired, limit=PATTERNS_SHOWN)
    since = datetime.now(UTC) - SINCE
    counts = patterns.stats(store, since=since, job=None, tag=None)
    days, totals, per_day = failures_view.frequencies(counts, since)
    charted = sorted(totals, key=lambda pid: (-totals[pid], pid))[:CHARTED_PATTERNS]
    frequency = chart(
        "pattern-frequency", "Runs matching each pattern per day (the most frequent)",
        x_label="Day", x=days, y_label="runs",
        series=[(f"#{pid}", [per_day.get((pid, day), 0) for day in days]) for pid in charted])
    return render_template("patterns.html", patterns=listed, retired=retired, totals=totals,
                           frequency=frequency if charted else None, since=since)


@bp.post("/patterns")
@page(Scope.ADMIN)
def create_pattern() -> Any:
    check_csrf()
    fields = PatternCreateSchema().load(
        _form(("expression", "syntax", "description", "reason"), lists=("tags",)))
    made = patterns.create(get_store(), fields, actor=g.actor)
    log.info("pattern %s created by %s from the pages", made.id, g.actor)
    return redirect(f"/ui/patterns#pattern-{made.id}", code=303)


@bp.post("/patterns/<int:pattern_id>/retire")
@page(Scope.ADMIN)
def retire_pattern(pattern_id: int) -> Any:
    check_csrf()
    fields = RetireSchema().load(_form(("reason",)))
    patterns.retire(get_store(), pattern_id, actor=g.actor, reason=fields["reason"])
    log.info("pattern %s retired by %s from the pages", pattern_id, g.actor)
    return redirect("/ui/patterns?retired=1", code=303)


@bp.get("/failures")
@page()
def failures_page() -> str:
    store = get_store()
    since = datetime.now(UTC) - SINCE
    report = failures.unexplained_clusters(store, since=since, job=None,
                                           limit=failures_view.CLUSTER_RUNS,
                                           log_lines=failure_logs.reader(store),
                                           generic_share=generic_share())
    recent = failures_view.recent_failures(store, since=since, generic_share=generic_share())
    return render_template("failures.html", report=report, recent=recent, since=since)


@bp.get("/breakages")
@page()
def breakages_page() -> str:
    store = get_store()
    listed = breakages.list_breakages(store, ongoing=None, job=None, limit=BREAKAGES_SHOWN,
                                      cursor=request.args.get("cursor") or None)
    return render_template("breakages.html", breakages=listed,
                           timeline=failures_view.timeline(listed.items, datetime.now(UTC)))


@bp.post("/breakages")
@page(Scope.ADMIN)
def declare_breakage() -> Any:
    check_csrf()
    fields = BreakageCreateSchema().load(
        _form(("cause", "pattern_id", "notes", "started"), lists=("jobs",),
              numbers=("pattern_id",)))
    made = breakages.declare(get_store(), actor=g.actor, **fields)
    log.info("breakage %d declared by %s from the pages", made.id, g.actor)
    return redirect(f"/ui/breakages#breakage-{made.id}", code=303)


@bp.post("/breakages/<int:breakage_id>/resolve")
@page(Scope.ADMIN)
def resolve_breakage(breakage_id: int) -> Any:
    check_csrf()
    fields = BreakageResolveSchema().load(_form(("resolution", "resolved")))
    try:
        done = breakages.resolve(get_store(), breakage_id, actor=g.actor, **fields)
    except breakages.AlreadyResolved as err:
        from api.errors import ApiError

        raise ApiError(409, str(err)) from None
    log.info("breakage %d resolved by %s from the pages", done.id, g.actor)
    return redirect(f"/ui/breakages#breakage-{done.id}", code=303)
