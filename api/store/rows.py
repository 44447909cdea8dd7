"""Row-level rules shared by the store backends: page limits and the evidence filter's SQL."""

from __future__ import annotations

from api.domain import EVIDENCE_STATUSES


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be an integer >= 1, got {limit!r}")


def evidence_in(column: str = "status") -> str:
    """``column IN ('success', 'failure')``: the evidence rule of
    :data:`api.domain.EVIDENCE_STATUSES` as SQL that SQLite and BigQuery both accept.

    The values are the enum's own constants (never input), so they are inlined as literals:
    the statement text then stays one cached plan and needs no extra parameters.
    """
    values = ", ".join(f"'{status.value}'" for status in EVIDENCE_STATUSES)
    return f"{column} IN ({values})"
