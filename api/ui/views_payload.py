"""``/ui/payloads/{id}``: the page a release engineer opens from a failed pipeline."""

from __future__ import annotations

from flask import render_template

from api.db import get_store, get_verdict_cache
from api.routes.failures import generic_share
from api.ui import payload_view
from api.ui.blueprint import bp
from api.ui.session import page


@bp.get("/payloads/<seg:payload_id>")
@page()
def payload(payload_id: str) -> str:
    store = get_store()
    verdict = payload_view.judge(store, payload_id, generic_share=generic_share(),
                                 cache=get_verdict_cache())
    return render_template("payload.html", page=payload_view.gather(store, payload_id, verdict))
