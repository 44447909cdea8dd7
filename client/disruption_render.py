"""The text verdict's disruption lines for a job: the deciding policy's outcome, each failed
payload check (every policy), and the single runs above their allowance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_LINES = 20
INDENT = "          "


def _key(key: Mapping[str, Any]) -> str:
    name = str(key.get("name") or f"all {key.get('kind', '')}")
    extra = [str(key[part]) for part in ("namespace", "level") if key.get(part)]
    return f"{name} ({', '.join(extra)})" if extra else name


def lines(section: Mapping[str, Any] | None) -> list[str]:
    if not section:
        return []
    out = [f"{INDENT}disruption ({section.get('policy')}, {section.get('setting')}): "
           f"{str(section.get('verdict', '')).upper()}: {section.get('reason', '')}"]
    failed = [(result.get("policy"), check) for result in section.get("policies") or ()
              for check in result.get("checks") or () if check.get("status") == "fail"]
    for policy, check in failed[:MAX_LINES]:
        out.append(f"{INDENT}- {policy}: {_key(check.get('key') or {})}: {check.get('check')}: "
                   f"{check.get('reason')}")
    single = section.get("single_run") or ()
    for check in single[:MAX_LINES]:
        allowed = check.get("allowed")
        out.append(f"{INDENT}- run {check.get('run_id')}: {_key(check.get('key') or {})} "
                   f"{check.get('seconds')}s ({check.get('status')}; allowed "
                   f"{'n/a' if allowed is None else f'{allowed:g}s'})")
    hidden = max(0, len(failed) - MAX_LINES) + max(0, len(single) - MAX_LINES)
    if hidden:
        out.append(f"{INDENT}... and {hidden} more (--format json shows all)")
    return out
