"""The one chart shape the pages hand to ``_macros.html``'s ``chart`` macro (and so to
``static/charts.js``): the same numbers feed the drawing and the table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


def chart(chart_id: str, title: str, *, x_label: str, x: Sequence[Any],
          series: Sequence[tuple[str, Sequence[float | int | None]]], y_label: str = "",
          percent: bool = False) -> dict[str, Any]:
    """A chart over ``x``: datetimes (a time axis) or labels (one point per label)."""
    if any(len(values) != len(x) for _, values in series):
        raise ValueError("every series needs one value per x")
    timed = bool(x) and all(isinstance(item, datetime) for item in x)
    if timed:
        moments = [item if item.tzinfo else item.replace(tzinfo=UTC) for item in x]
        xs: list[Any] = [int(item.timestamp()) for item in moments]
        text = [item.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for item in moments]
    else:
        xs = [str(item) for item in x]
        text = xs
    return {"id": chart_id, "title": title, "x_label": x_label, "x": xs, "x_text": text,
            "x_time": timed, "y_label": y_label, "percent": percent,
            "series": [{"label": label, "values": list(values)} for label, values in series]}
