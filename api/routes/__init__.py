"""HTTP routes: one blueprint per resource. Each view loads with a schema, calls a service and
dumps with a schema."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from api.routes import baselines, health, jobs, junit, payloads, runs, tokens, verdicts

    for module in (health, jobs, runs, junit, payloads, baselines, verdicts, tokens):
        app.register_blueprint(module.bp)
    # -- build logs (issue 13) --
    from api.routes import logs

    app.register_blueprint(logs.bp)
    # -- disruption and alert measurements (SPEC §9) --
    from api.routes import artifacts, disruption_baselines

    app.register_blueprint(artifacts.bp)
    app.register_blueprint(disruption_baselines.bp)
    # -- disruption judging --
    from api.routes import disruption_allowed

    app.register_blueprint(disruption_allowed.bp)

    # -- patterns: failure patterns and scans (SPEC section 10) --
    from api.routes import patterns, scans

    for module in (patterns, scans):
        app.register_blueprint(module.bp)

    # Failure causes (issue 13, SPEC §10).
    from api.routes import breakages, failures

    for part in (breakages, failures):
        app.register_blueprint(part.bp)

    # -- the reads behind the pages (issue 15) --
    from api.routes import page_reads

    app.register_blueprint(page_reads.bp)
