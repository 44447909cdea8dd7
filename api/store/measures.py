"""Backend-neutral helpers of the disruption store part: row order, cursors, variants.

Both backends order a baseline version's rows by :data:`ROW_ORDER` and page them with the same
cursor (the last row's ordering values), so a page boundary means the same on each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from api.disruption.artifacts import ArtifactKind, ParsedArtifact, merge_variant
from api.disruption.model import BaselineRow, MeasurementKey, MeasurementKind, Variant
from api.store.cursor import decode_cursor, encode_cursor

VARIANT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Variant))
ROW_ORDER: tuple[str, ...] = ("name", "namespace", "level", *VARIANT_FIELDS)
"""The columns that identify a row within a version, in the listing's order."""
CURSOR_KIND = "disruption-rows"


def row_order_values(row: BaselineRow) -> tuple[str, ...]:
    return (row.key.name, row.key.namespace, row.key.level,
            *(getattr(row.variant, name) for name in VARIANT_FIELDS))


def row_cursor(kind: MeasurementKind, version: int, row: BaselineRow) -> str:
    return encode_cursor(CURSOR_KIND, [kind.value, version, *row_order_values(row)])


def decode_row_cursor(cursor: str, kind: MeasurementKind, version: int) -> tuple[str, ...]:
    from api.store.base import InvalidCursor

    parts = decode_cursor(cursor, CURSOR_KIND, (str, int, *([str] * len(ROW_ORDER))))
    if parts[0] != kind.value or parts[1] != version:
        raise InvalidCursor("the cursor belongs to another baseline version's listing")
    return tuple(parts[2:])


def sort_key(values: Sequence[str]) -> str:
    """One string that sorts (byte-wise, as both backends compare) as the tuple does: names
    carry no control characters, so NUL separates fields below any character of theirs."""
    return "\x00".join(values)


def check_rows(rows: Sequence[BaselineRow]) -> None:
    """Refuse a version that names one row twice (before anything is written)."""
    seen: set[tuple[str, ...]] = set()
    for row in rows:
        ident = row_order_values(row)
        if ident in seen:
            raise ValueError(f"baseline row {ident} appears twice")
        seen.add(ident)


def row_of(kind: MeasurementKind, values: Sequence[Any]) -> BaselineRow:
    """A row from its columns in :data:`ROW_ORDER` then job_runs, p50, p75, p95, p99, mean,
    stddev, first_observed, last_observed."""
    name, namespace, level = values[0:3]
    variant = Variant(*values[3:3 + len(VARIANT_FIELDS)])
    (job_runs, p50, p75, p95, p99, mean, stddev, first,
     last) = values[3 + len(VARIANT_FIELDS):]
    return BaselineRow(key=MeasurementKey(kind, name, namespace, level), variant=variant,
                       job_runs=int(job_runs), p95=float(p95), p99=float(p99),
                       p50=None if p50 is None else float(p50),
                       p75=None if p75 is None else float(p75),
                       mean=None if mean is None else float(mean),
                       stddev=None if stddev is None else float(stddev),
                       first_observed=first, last_observed=last)


class MeasureState:
    """A run's measurement state while an upload is applied to it (both backends read it,
    apply :meth:`add`, and write the result in their one atomic step)."""

    def __init__(self, variant: Variant | None, from_cluster_data: bool,
                 kinds: set[MeasurementKind], seconds: dict[MeasurementKey, int],
                 seen: set[str]) -> None:
        self.variant = variant
        self.from_cluster_data = from_cluster_data
        self.kinds = kinds
        self.seconds = seconds
        self.seen = seen

    def add(self, files: Sequence[ParsedArtifact],
            derived: Variant | None) -> tuple[tuple[bool, ...], list[ParsedArtifact]]:
        """Apply the files not yet seen; returns per file whether it was new, and the new."""
        added: list[bool] = []
        new: list[ParsedArtifact] = []
        for item in files:
            fresh = item.sha256 not in self.seen
            added.append(fresh)
            if not fresh:
                continue
            self.seen.add(item.sha256)
            new.append(item)
            if item.kind is ArtifactKind.CLUSTER_DATA:
                base = self.variant if self.from_cluster_data else None
                self.variant = merge_variant(base, item.variant)
                self.from_cluster_data = True
                continue
            self.kinds.add(MeasurementKind(item.kind.value))
            for key, value in item.seconds.items():
                self.seconds[key] = self.seconds.get(key, 0) + value
        if new and self.variant is None and derived is not None:
            self.variant = derived
        return tuple(added), new
