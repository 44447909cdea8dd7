"""Prometheus metrics: requests, latencies, and what was ingested.

Under gunicorn each worker is its own process, so the ``serve`` command sets
``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` aggregates every worker's files; without it
(tests, ``flask run``) the process registry is served as is.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from api.services.ingest import Ingested

REQUESTS = Counter(
    "flakegate_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "flakegate_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INGESTED_RUNS = Counter("flakegate_ingested_runs_total", "Runs created or updated")
INGESTED_FILES = Counter("flakegate_ingested_junit_files_total", "JUnit files attached")
INGESTED_RESULTS = Counter("flakegate_ingested_test_results_total", "Test results stored")


def count_ingested(ingested: Ingested) -> None:
    """The routes' observer of service writes (see :mod:`api.services.ingest`)."""
    INGESTED_RUNS.inc(ingested.runs)
    INGESTED_FILES.inc(ingested.files)
    INGESTED_RESULTS.inc(ingested.results)


def render() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    # content_type, not mimetype: Flask would append a second charset to Prometheus' type.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        # The route template, not the path: job names would explode the label cardinality.
        route = request.url_rule.rule if request.url_rule else "unmatched"
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        return response
