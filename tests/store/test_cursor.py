"""The one cursor codec (``api.store.cursor``): store listings and service pages share it."""

from __future__ import annotations

import base64

import pytest

from api.domain import JobSpec, RunSpec, RunStatus
from api.store import InvalidCursor, Store
from api.store.cursor import decode_cursor, decode_offset, encode_cursor, encode_offset


def raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_offsets_round_trip_and_no_cursor_is_the_start() -> None:
    assert decode_offset(None) == 0
    assert [decode_offset(encode_offset(n)) for n in (0, 1, 250, 2**62)] == [0, 1, 250, 2**62]


@pytest.mark.parametrize("cursor", [
    raw('["offset",1000000000000000000000000000000]'),  # 1e30: beyond any backend's integers
    raw('["offset",1e30]'),
    raw('["offset",-1]'),
    raw('["offset","3"]'),
    encode_cursor("jobs", ["a"]),  # another listing's cursor
    "not base64!", "", "é",
])
def test_bad_offset_cursors_are_invalid_cursors(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_offset(cursor)


def test_integers_beyond_64_bits_are_refused_when_decoded() -> None:
    assert decode_cursor(encode_cursor("audit", [2**63 - 1]), "audit", (int,)) == [2**63 - 1]
    for huge in (2**63, -(2**63) - 1, 10**30):
        with pytest.raises(InvalidCursor):
            decode_cursor(encode_cursor("audit", [huge]), "audit", (int,))


def test_a_cursor_with_a_huge_integer_is_invalid_on_every_listing(store: Store) -> None:
    store.put_job(JobSpec("j"))
    store.put_run(RunSpec(job="j", run_id="1", status=RunStatus.SUCCESS))
    huge = 10**30
    with pytest.raises(InvalidCursor):
        store.list_baselines("j", limit=1, cursor=encode_cursor("baselines", [huge]))
    with pytest.raises(InvalidCursor):
        store.list_audit("j", limit=1, cursor=encode_cursor("audit", [huge, huge]))
    with pytest.raises(InvalidCursor):
        store.list_audit("j", limit=1, cursor=encode_cursor("audit", [huge]))
