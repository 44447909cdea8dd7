"""``GET /work``: the durable work queue (webhook deliveries, publications) for admins, e.g.
``?state=dead`` for what failed for good and why (api/serving/work_schedule.py)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.auth import require
from api.db import get_store
from api.domain import Scope
from api.routes.common import load_query, page_limit
from api.schemas.common import page_dump
from api.schemas.work import WorkItemSchema, WorkQuery
from api.store.work import WorkState

bp = Blueprint("work", __name__)


@bp.get("/work")
@require(Scope.ADMIN)
def list_work() -> Response:
    query = load_query(WorkQuery())
    state = WorkState(query["state"]) if query["state"] else None
    page = get_store().work.list_work(state=state, kind=query["kind"], limit=page_limit(query),
                                      cursor=query["cursor"])
    return jsonify(page_dump(WorkItemSchema(many=True).dump(page.items), page.next_cursor))
