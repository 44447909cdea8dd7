"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from api import db, errors, metrics
from api.config import check_config, load_config
from api.routes import register_blueprints
from api.urls import RawPathMiddleware, SegmentConverter


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from defaults, ``FLAKEGATE_*`` variables, then ``overrides``.

    The factory does no I/O against the store: ``flakegate db init`` migrates, so that starting
    many gunicorn workers never races on schema changes. A configuration the server must not
    run with raises :class:`api.config.ConfigError`.
    """
    app = Flask(__name__)
    config = load_config(overrides)
    check_config(config)  # raises ConfigError: e.g. a guessable FLAKEGATE_ADMIN_TOKEN
    app.config.update(config)
    app.config["MAX_CONTENT_LENGTH"] = config["MAX_BODY_BYTES"]
    # Form fields and multipart parts share the body limit; werkzeug's smaller defaults would
    # turn a large but legal multipart upload into a 413.
    app.config["MAX_FORM_MEMORY_SIZE"] = config["MAX_BODY_BYTES"]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.converters["seg"] = SegmentConverter
    app.url_map.strict_slashes = False
    app.wsgi_app = RawPathMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    errors.register_error_handlers(app)
    metrics.init_app(app)
    db.init_app(app)
    register_blueprints(app)
    # -- pages (issue 15): /ui/ and the redirect from / --
    from api import ui

    ui.init_app(app)
    logging.getLogger("api").setLevel(logging.INFO)
    return app
