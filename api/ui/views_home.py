"""``/ui/``: where a reader starts."""

from __future__ import annotations

from flask import current_app, render_template, request

from api.db import get_store
from api.ui.blueprint import bp
from api.ui.session import page

JOBS_SHOWN = 50


@bp.get("/")
@page()
def home() -> str:
    cursor = request.args.get("cursor") or None
    jobs = get_store().list_jobs(limit=min(JOBS_SHOWN, current_app.config["PAGE_LIMIT_MAX"]),
                                 cursor=cursor)
    return render_template("home.html", jobs=jobs)
