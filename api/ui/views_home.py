"""``/ui/``: recent payloads, newest first, each job's verdict at a glance, pending ones with
their deadlines; and the jobs, the way to their pages."""

from __future__ import annotations

from flask import render_template, request

from api.db import get_store, get_verdict_cache
from api.routes.failures import generic_share
from api.services import payload_list
from api.ui.blueprint import bp
from api.ui.session import page

PAYLOADS_SHOWN = 25  # each costs a verdict (cached while nothing changes)
JOBS_SHOWN = 100


@bp.get("/")
@page()
def home() -> str:
    store = get_store()
    payloads = payload_list.recent_payloads(
        store, limit=PAYLOADS_SHOWN, cursor=request.args.get("cursor") or None,
        cache=get_verdict_cache(), generic_share=generic_share())
    jobs = store.list_jobs(limit=JOBS_SHOWN)
    return render_template("home.html", payloads=payloads, jobs=jobs)
