"""``/ui/jobs/{job}`` and ``/ui/jobs/{job}/tests/{key}``: a job's runs, least stable tests,
baselines and settings; one test's outcomes, pass rate over time and failure messages.

Thin views: the data comes from :mod:`api.services.job_page` and :mod:`api.services.test_page`
(the API's ``/jobs/{job}/tests`` reads share their home in :mod:`api.services.test_reads`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template, request

from api.db import get_store
from api.domain import RunStatus
from api.schemas.common import check_path_names
from api.services.job_page import job_page
from api.services.test_page import test_page
from api.ui.blueprint import bp
from api.ui.charts import chart
from api.ui.session import page

# The run statuses the job's chart stacks, in the order of the legend.
CHART_STATUSES = (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.ERROR, RunStatus.ABORTED,
                  RunStatus.PENDING)


@bp.app_template_filter("web_link")
def web_link(url: str | None) -> str | None:
    """A run's CI URL as a link target only when it is http(s): a stored URL is any printable
    text, and ``javascript:`` must never become a link (CSP would block it; it stays text)."""
    if url is None or urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    return url


@bp.get("/jobs/<seg:job>")
@page()
def job_view(job: str) -> str:
    check_path_names(job=job)
    shown = job_page(get_store(), job, runs_cursor=request.args.get("cursor") or None)
    runs_chart = chart(
        "runs-by-day", "Runs per day (the runs listed below)", x_label="Day",
        x=[day.day for day in shown.run_days],
        series=[(status.value, [day.of(status) for day in shown.run_days])
                for status in CHART_STATUSES], y_label="runs")
    return render_template("job.html", page=shown, runs_chart=runs_chart)


@bp.get("/jobs/<seg:job>/tests/<seg:key>")
@page()
def test_view(job: str, key: str) -> str:
    check_path_names(job=job)
    shown = test_page(get_store(), job, key)
    rate_chart = chart(
        "pass-rate", "Pass rate per day (counted runs)", x_label="Day",
        x=[tally.label for tally in shown.by_day],
        series=[("pass rate", [tally.pass_rate for tally in shown.by_day])],
        y_label="pass rate", percent=True)
    return render_template("test.html", page=shown, rate_chart=rate_chart)
