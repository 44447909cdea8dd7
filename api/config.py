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
    # How often the server refreshes every job's baseline (a duration such as 30s, 10m, 6h;
    # 0 turns the schedule off); see api/serving/baseline_schedule.py.
    "BASELINE_EVERY": "6h",
    # -- harden: work one request may cause (docs/serving.md, "Limits") ----------------------
    # Decompressed JUnit bytes across all the files of one upload request.
    "MAX_DECOMPRESSED_BYTES": 256 * 1024 * 1024,
    # <testcase> elements across all the files of one upload request.
    "MAX_TESTCASES": 500_000,
    # Files (multipart parts) in one upload request; the client sends at most 200 per request.
    "MAX_PARTS": 200,
    # -- build logs (issue 13): a step's log beyond this keeps its head and tail --------------
    "MAX_LOG_BYTES": 64 * 1024 * 1024,
    # -- patterns: failure patterns and scans (docs/failure-patterns.md) ----------------------
    # A pattern matching more than this share of scanned failed (or of passing) runs' logs is
    # flagged too generic in GET /patterns/{id}.
    "GENERIC_PATTERN_SHARE": "0.3",
    # One passing run in this many has its logs scanned (1: all, 0: none): api/services/scans.py.
    "SCAN_PASSING_EVERY": 4,
    # How often each server worker looks for queued or interrupted scans (a duration; 0: off).
    "SCAN_EVERY": "10s",
    # -- GitHub (issue 14, docs/github.md): the REST API flakegate publishes to ---------------
    # GitHub Enterprise Server is another base URL, e.g. https://ghe.example/api/v3.
    "GITHUB_API_URL": "https://api.github.com",
    # A token (classic or fine-grained personal access token, or an Actions GITHUB_TOKEN) ...
    "GITHUB_TOKEN": None,
    # ... or a GitHub App: its id and the PEM private key it signs its JWTs with.
    "GITHUB_APP_ID": None,
    "GITHUB_APP_PRIVATE_KEY_FILE": None,
    # Seconds one call may spend waiting on GitHub's rate limits before it gives up.
    "GITHUB_MAX_WAIT": 300,
    # Seconds for one HTTP exchange with GitHub.
    "GITHUB_TIMEOUT": 30,
    # Where people reach this server's pages; statuses, check runs and comments link there.
    "PUBLIC_URL": "",
    # -- GitHub webhooks in and background work (issue 14, docs/github.md "Webhooks") ----------
    # The secret GitHub signs deliveries with (X-Hub-Signature-256); unset: hooks are refused.
    "GITHUB_WEBHOOK_SECRET": None,
    # The largest webhook body accepted (GitHub's own cap is 25 MB; CI events are far smaller).
    "GITHUB_WEBHOOK_MAX_BYTES": 5 * 1024 * 1024,
    # The largest job log or artifact zip fetched from GitHub for a webhook.
    "GITHUB_DOWNLOAD_MAX_BYTES": 256 * 1024 * 1024,
    # Seconds a publication waits after the write that asked for it, so that the jobs of one
    # workflow finishing together make one publication rather than one each.
    "GITHUB_PUBLISH_DELAY": "5s",
    # How often each server worker looks for due background work (a duration; 0: off).
    "WORK_EVERY": "2s",
    # Seconds a worker holds an item before another may take it over (it crashed or hung).
    "WORK_LEASE_SECONDS": 600,
    # Attempts before an item is dead (kept for admins: GET /work?state=dead).
    "WORK_MAX_ATTEMPTS": 8,
    # -- pages (issue 15, docs/pages.md) -------------------------------------------------------
    # Signs the pages' session cookie; required by `flakegate serve` unless PUBLIC_READ is on.
    "SECRET_KEY": None,
    # Behind a TLS-terminating proxy: trust its X-Forwarded-Proto (for the Secure cookie flag).
    "TRUST_PROXY": False,
}

# A bootstrap admin token shorter than this is refused: it is compared, never rate-limited,
# so it must be long enough that guessing it is hopeless (new_token() makes 46 characters).
ADMIN_TOKEN_MIN_LENGTH = 32
MIN_LOG_BYTES = 4096


class ConfigError(ValueError):
    """A configuration the server refuses to start with (the message is one line)."""


# -- pages (issue 15) --------------------------------------------------------------------------
SECRET_KEY_MIN_LENGTH = 32


def check_pages_config(config: Mapping[str, Any]) -> None:
    """What ``flakegate serve`` refuses for the pages: signing in needs a long secret key,
    unless the pages are open to read (they still take a sign-in for admin forms then)."""
    key = config.get("SECRET_KEY") or ""
    if key and len(key) < SECRET_KEY_MIN_LENGTH:
        raise ConfigError(f"FLAKEGATE_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH}"
                          f" characters (it has {len(key)})")
    if not key and not config.get("PUBLIC_READ"):
        raise ConfigError("FLAKEGATE_SECRET_KEY is required to serve the pages without"
                          " FLAKEGATE_PUBLIC_READ=1 (it signs the sign-in cookie); make one with"
                          " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")


def check_config(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` for a configuration the server must not serve with."""
    admin = config.get("ADMIN_TOKEN")
    if admin and len(admin) < ADMIN_TOKEN_MIN_LENGTH:  # empty means unset, as in auth
        raise ConfigError(f"FLAKEGATE_ADMIN_TOKEN must be at least {ADMIN_TOKEN_MIN_LENGTH}"
                          f" characters (it has {len(admin)}); make one with"
                          " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    # -- build logs (issue 13) --
    if int(config.get("MAX_LOG_BYTES", MIN_LOG_BYTES)) < MIN_LOG_BYTES:
        raise ConfigError(f"FLAKEGATE_MAX_LOG_BYTES must be at least {MIN_LOG_BYTES} (a head, a"
                          " tail and the marker line between them)")
    # -- GitHub (issue 14) --
    if bool(config.get("GITHUB_APP_ID")) != bool(config.get("GITHUB_APP_PRIVATE_KEY_FILE")):
        raise ConfigError("FLAKEGATE_GITHUB_APP_ID and FLAKEGATE_GITHUB_APP_PRIVATE_KEY_FILE go"
                          " together: set both (a GitHub App) or neither (FLAKEGATE_GITHUB_TOKEN)")


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
    config["DATABASE"] = database_url(config["DATABASE"])
    return config


def database_url(value: str) -> str:
    """A store URL as ``FLAKEGATE_DATABASE`` and ``--db`` take it: a URL as is, a bare path
    (``var/x.db``, ``/srv/x.db``) as the embedded store's ``sqlite://`` URL, made absolute
    against the working directory now."""
    if "://" in value:
        return value
    return "sqlite://" + os.path.abspath(os.path.expanduser(value))
