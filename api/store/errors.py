"""The store's own errors, raised by every backend and part; the API maps each to an HTTP status
(``api/errors.py``): NotFound 404, InvalidCursor 400, StoreUnavailable 503, StoreFull 507."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's own errors; the API maps each to its HTTP status."""


class NotFound(StoreError):
    """The job, run or payload named does not exist."""


class InvalidCursor(StoreError):
    """The pagination cursor was not produced by this store."""


class StoreUnavailable(StoreError):
    """The backend did not answer in time (lock timeout, lost connection); retry later."""


class StoreFull(StoreUnavailable):
    """The backend has no room for the write (disk or quota full); retry once space is made."""
