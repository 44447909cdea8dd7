"""What a write ingested, reported to whoever counts it.

The services stay free of the web layer: a write takes an optional observer and tells it what
was stored. The routes pass one that feeds the Prometheus counters, so ``/metrics`` counts what
the API ingested; the CLI and the crawler (no ``/metrics`` to serve) pass nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ingested:
    runs: int = 0  # runs created or updated
    files: int = 0  # JUnit files attached (not counting duplicates)
    results: int = 0  # test results stored


IngestObserver = Callable[[Ingested], None]
