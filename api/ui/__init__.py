"""Pages for people (SPEC §12, issue 15): server-rendered views over the same services as the
API, readable without JavaScript except for the charts (each drawn from numbers that a table on
the same page also shows).

A page module adds its views to :data:`api.ui.blueprint.bp` and is named in :data:`PAGES`;
views are thin (a service call, a template), the templates autoescape everything, and the
frame (:mod:`api.ui.security`, :mod:`api.ui.session`) gives every page its headers and its
sign-in.
"""

from __future__ import annotations

import importlib

from flask import Flask, Response, redirect
from werkzeug.middleware.proxy_fix import ProxyFix

from api.ui import frame, security, session
from api.ui.blueprint import bp

# The modules holding the page views, imported once before the blueprint is registered.
PAGES = (
    "api.ui.views_login",
    "api.ui.views_home",
    "api.ui.views_payload",
    "api.ui.views_log",
    "api.ui.views_failures",
    # -- the job, test and disruption pages (issue 15, uidata) --
    "api.ui.views_jobs",
    "api.ui.views_disruption",
)


def init_app(app: Flask) -> None:
    assert frame.bp is bp  # the frame's context and error pages are on the blueprint
    for name in PAGES:
        importlib.import_module(name)
    if "ui" not in app.blueprints:
        app.register_blueprint(bp)
    session.init_app(app)
    security.init_app(app)
    if app.config.get("TRUST_PROXY"):
        # Only behind a proxy that sets it: otherwise any client could claim HTTPS.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_proto=1,  # type: ignore[method-assign]
                                x_host=0, x_port=0, x_prefix=0)

    @app.get("/", endpoint="ui_root")
    def _root() -> Response:
        return redirect("/ui/", code=302)  # type: ignore[return-value]
