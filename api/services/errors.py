"""The services' own refusals: plain exceptions, so the service layer needs no web framework or
schema library. The web layer's error handlers map each to its HTTP status, code and details.

A missing resource is the store's :class:`~api.store.NotFound`, raised as is: the services
and the store mean the same thing by it.

::

    ServiceError
    ├── InvalidInput     a field's value is refused (422 ``invalid``, per-field details)
    ├── Forbidden        the caller's scope may not change these fields (403 ``forbidden``)
    └── InvalidUpload    a JUnit upload is refused before anything is stored (``code`` says why)
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ServiceError):
    """Field errors as the schemas report them: a field name maps to its messages, or (for a
    nested object such as a job's ``settings``) to the same kind of mapping."""

    def __init__(self, details: dict[str, Any],
                 message: str = "the request has invalid fields") -> None:
        super().__init__(message)
        self.details = details


class Forbidden(ServiceError):
    """A change the caller's token may not make; ``fields`` names what it tried to change."""

    def __init__(self, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.fields = fields


class InvalidUpload(ServiceError):
    """A JUnit upload refused as a whole; ``code`` is one of :data:`UPLOAD_CODES`."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        if code not in UPLOAD_CODES:
            raise ValueError(f"unknown upload refusal code {code!r}")
        super().__init__(message)
        self.code = code
        self.details = details


UPLOAD_CODES = frozenset({
    "no_files",  # the request carried no file
    "invalid_encoding",  # not gzip, or truncated gzip
    "too_large",  # beyond the request's budget of decompressed bytes or testcases
    "too_many_parts",  # more files (multipart parts) than MAX_PARTS
})


# -- disruption artifacts (SPEC §9) -------------------------------------------------------------
class UnsupportedFiles(ServiceError):
    """An artifacts upload with files that are neither JUnit XML nor a measurement file (415);
    ``files`` names every one of them."""

    def __init__(self, files: list[str]) -> None:
        super().__init__(f"unsupported artifact files: {', '.join(files)}; send JUnit XML "
                         "(*.xml), backend-disruption*.json, alerts*.json or cluster-data*.json")
        self.files = files
