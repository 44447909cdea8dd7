"""Configuration: defaults, overridden by ``FLAKEGATE_*`` environment variables, overridden by
the mapping given to :func:`api.create_app` (how tests build apps on temp files)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Relative to the working directory at start-up (made absolute in load_config).
    "DATABASE": "var/flakegate.db",
    "ADMIN_TOKEN": None,
    "PUBLIC_READ": False,
    "MAX_BODY_BYTES": 64 * 1024 * 1024,
    "PAGE_LIMIT_DEFAULT": 100,
    "PAGE_LIMIT_MAX": 1000,
    "VERDICT_CACHE": True,
    # -- harden: work one request may cause (docs/serving.md, "Limits") ----------------------
    # Decompressed JUnit bytes across all the files of one upload request.
    "MAX_DECOMPRESSED_BYTES": 256 * 1024 * 1024,
    # <testcase> elements across all the files of one upload request.
    "MAX_TESTCASES": 500_000,
    # Files (multipart parts) in one upload request; the client sends at most 200 per request.
    "MAX_PARTS": 200,
}

_BOOLEAN_WORDS = {"1": True, "true": True, "yes": True, "on": True,
                  "0": False, "false": False, "no": False, "off": False, "": False}


def _coerce(key: str, raw: str) -> Any:
    default = DEFAULTS[key]
    if isinstance(default, bool):
        try:
            return _BOOLEAN_WORDS[raw.strip().lower()]
        except KeyError:
            raise ValueError(
                f"FLAKEGATE_{key} must be a boolean (1/0, true/false), got {raw!r}"
            ) from None
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"FLAKEGATE_{key} must be an integer, got {raw!r}") from None
    return raw


def load_config(overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = environ.get(f"FLAKEGATE_{key}")
        if raw is not None:
            config[key] = _coerce(key, raw)
    config.update(overrides or {})
    if "://" not in config["DATABASE"]:  # a bare path means the embedded store
        config["DATABASE"] = "sqlite://" + os.path.abspath(config["DATABASE"])
    return config
