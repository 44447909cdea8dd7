"""Rules shared by the pattern store backends: what a draft and a scan must be, and how a
log's record of applied versions takes a new scan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.failures.model import PatternSyntax
from api.store.patterns import LogScan, PatternDraft


def check_draft(draft: PatternDraft) -> None:
    """Refuse, before writing, a draft no backend should store (the API validates first)."""
    PatternSyntax(draft.syntax)
    if not isinstance(draft.expression, str) or not draft.expression:
        raise ValueError("a pattern needs a non-empty expression")
    if isinstance(draft.specificity, bool) or not isinstance(draft.specificity, int):
        raise TypeError("specificity must be an integer")
    if draft.lines_from_end is not None and (isinstance(draft.lines_from_end, bool)
                                             or not isinstance(draft.lines_from_end, int)
                                             or draft.lines_from_end < 1):
        raise ValueError("lines_from_end must be a positive integer or None")
    if not all(isinstance(v, str) for v in (*draft.tags, *draft.steps)):
        raise TypeError("tags and steps must be text")


def check_scan(scan: LogScan) -> None:
    """Every match must be of a pattern version the scan says it applied."""
    for match in scan.matches:
        if scan.versions.get(match.pattern_id) != match.pattern_version:
            raise ValueError(f"match of pattern {match.pattern_id} version"
                             f" {match.pattern_version} is not among the versions scanned")


def merge_applied(applied: Mapping[str, Any], versions: Mapping[int, int]
                  ) -> tuple[dict[str, int], list[int]]:
    """The log's applied versions after a scan, and the pattern ids the scan replaces: a
    version older than the one applied is ignored, so a late scan never undoes a newer one."""
    merged = {str(k): int(v) for k, v in applied.items()}
    taken = []
    for pid, version in sorted(versions.items()):
        current = merged.get(str(pid))
        if current is None or version >= current:
            merged[str(pid)] = int(version)
            taken.append(int(pid))
    return merged, taken
