"""Where each page lives, for everything that links to the pages (the pages themselves, the
action's ``report-url``, GitHub statuses, check runs and comments). Pure.

A test is addressed by a *key*: the same ``(suite, name)`` always gives the same key, the key is
URL-safe whatever the name holds (slashes, spaces, 4,096 characters of CIS benchmark text), and
two tests never share one in practice (128 bits of SHA-256). The key names a test; the store maps
it back (see the test history reads).
"""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import quote

TEST_KEY_BYTES = 16


def key_for_test(suite: str, name: str) -> str:
    """The stable, URL-safe key of the test ``(suite, name)``: 22 characters of base64url."""
    # JSON keeps the pair unambiguous whatever either part holds (a NUL, a quote).
    pair = json.dumps([suite, name], ensure_ascii=False)
    digest = hashlib.sha256(pair.encode()).digest()[:TEST_KEY_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _segment(value: str) -> str:
    # Every byte outside the unreserved set is encoded, "/" included: api/urls.py routes on
    # the raw URI so a job named "a/b" stays one segment.
    return quote(value, safe="")


def _join(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}{path}"


def home_page(base_url: str = "") -> str:
    return _join(base_url, "/ui/")


def payload_page(payload: str, base_url: str = "") -> str:
    return _join(base_url, f"/ui/payloads/{_segment(payload)}")


def job_page(job: str, base_url: str = "") -> str:
    return _join(base_url, f"/ui/jobs/{_segment(job)}")


def page_for_test(job: str, suite: str, name: str, base_url: str = "") -> str:
    return _join(base_url, f"/ui/jobs/{_segment(job)}/tests/{key_for_test(suite, name)}")


def log_page(job: str, run_id: str, line: int | None = None, base_url: str = "", *,
             step: str | None = None) -> str:
    """A run's stored log, at ``line`` (1-based) when given, as the failure-cause links use.

    Without ``step`` the page shows the run's failed step (the log stored last, as
    :mod:`api.services.failure_logs` takes it); with it, that step's log, and ``line`` is also
    sent as ``?line=`` so that the server renders the window holding it in a huge log."""
    anchor = f"#L{line}" if line is not None else ""
    query = ""
    if step is not None:
        query = f"?step={quote(step, safe='')}" + (f"&line={line}" if line is not None else "")
    return _join(base_url,
                 f"/ui/jobs/{_segment(job)}/runs/{_segment(run_id)}/log{query}{anchor}")
