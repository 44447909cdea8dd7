"""``/ui/jobs/{job}/runs/{run}/log``: a run's stored step log with a link per line (``#L123``).

A log may hold 64 MiB: the page renders a window of :data:`WINDOW` lines, the one holding
``?line=`` (what failure-cause links send along with their ``#L`` anchor, which never reaches
the server) or starting at ``?from=``, with links to the windows before and after it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request

from api import pages_urls
from api.db import get_store
from api.services import logs
from api.store import NotFound
from api.store.logs import LogInfo
from api.ui.blueprint import bp
from api.ui.session import page

WINDOW = 2000


@dataclass(frozen=True, slots=True)
class LogWindow:
    info: LogInfo
    first: int  # 1-based number of the first line shown
    lines: list[str]
    total: int
    target: int | None

    @property
    def last(self) -> int:
        return self.first + len(self.lines) - 1


def _number(name: str) -> int | None:
    raw = request.args.get(name, "")
    # isdigit() alone accepts "²", which int() refuses: ASCII digits only.
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None


def failed_step(infos: list[LogInfo]) -> LogInfo:
    """The step :mod:`api.services.failure_logs` takes as failed: the log stored last."""
    return max(infos, key=lambda info: (info.stored_at, info.step))


def window(lines: list[str], target: int | None, start: int | None) -> tuple[int, list[str]]:
    """The (1-based first line, lines) to show: all of a short log; else WINDOW lines around
    ``target``, from ``start``, or from the top."""
    if len(lines) <= WINDOW:
        return 1, lines
    first = max(1, target - WINDOW // 4) if target is not None else max(1, start or 1)
    first = min(first, len(lines) - WINDOW + 1)
    return first, lines[first - 1:first - 1 + WINDOW]


@bp.get("/jobs/<seg:job>/runs/<seg:run_id>/log")
@page()
def run_log(job: str, run_id: str) -> str:
    store = get_store()
    infos = sorted(logs.list_logs(store, job, run_id), key=lambda info: info.step)
    shown = None
    if infos:
        wanted = request.args.get("step")
        info = failed_step(infos) if wanted is None else next(
            (i for i in infos if i.step == wanted), None)
        if info is None:
            raise NotFound(f"run {run_id!r} of job {job!r} has no log for step {wanted!r}")
        text = logs.get_log(store, job, run_id, info.step).text
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the final newline ends the last line; it starts none
        target = _number("line")
        first, part = window(lines, target, _number("from"))
        shown = LogWindow(info=info, first=first, lines=part, total=len(lines), target=target)
    steps = [(i.step, pages_urls.log_page(job, run_id, step=i.step)) for i in infos]
    run = store.get_run(job, run_id)
    return render_template("log.html", job=job, run_id=run_id, run=run, steps=steps,
                           shown=shown, window_size=WINDOW)
