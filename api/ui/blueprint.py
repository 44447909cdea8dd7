"""The one blueprint every page hangs on, so the pages share their error pages, their headers
and their static files (``/ui/static/...``)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ui", __name__, url_prefix="/ui", template_folder="templates",
               static_folder="static", static_url_path="/static")
