"""Artifact zips: only known files, bounded by what they inflate to, hostile names skipped."""

from __future__ import annotations

import io
import zipfile

import pytest

from api.hooks.artifacts import ArtifactTooLarge, known_files


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_known_files_only() -> None:
    data = zipped({"a/junit.xml": b"<testsuite/>", "alerts-1.json": b"{}", "log.txt": b"x",
                   "../escape.xml": b"<x/>", "dir/": b"", "b\\c.xml": b"<y/>"})
    assert [(u.name, u.data) for u in known_files("art", data, max_bytes=1000)] == [
        ("a/junit.xml", b"<testsuite/>"), ("alerts-1.json", b"{}")]


def test_a_zip_bomb_stops_at_the_budget() -> None:
    data = zipped({"big.xml": b"0" * 2_000_000})
    assert len(data) < 10_000
    with pytest.raises(ArtifactTooLarge):
        known_files("art", data, max_bytes=1_000_000)


def test_not_a_zip() -> None:
    with pytest.raises(zipfile.BadZipFile):
        known_files("art", b"PK not really", max_bytes=100)


# -- members zipfile cannot read: skipped, the rest still attached ---------------------------

def central_entry(data: bytes, name: str) -> int:
    """The offset of ``name``'s central directory header in the zip ``data``."""
    at = data.index(b"PK\x01\x02")
    while data[at + 46:at + 46 + len(name)] != name.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    return at


def patched_central(data: bytes, name: str, offset: int, value: bytes) -> bytes:
    """``data`` with ``value`` written into ``name``'s central directory header at ``offset``
    (8: the general purpose flags, 10: the compression method)."""
    at = central_entry(data, name) + offset
    return data[:at] + value + data[at + len(value):]


GOOD = {"good.xml": b"<testsuite/>"}


def test_an_encrypted_member_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    data = zipped({"secret.xml": b"<testsuite/>", **GOOD})
    data = patched_central(data, "secret.xml", 8, b"\x01\x00")
    assert [u.name for u in known_files("art", data, max_bytes=1000)] == ["good.xml"]
    assert "'secret.xml' skipped" in caplog.text and "encrypted" in caplog.text


def test_an_unsupported_compression_method_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    data = zipped({"ppmd.xml": b"<testsuite/>", **GOOD})
    data = patched_central(data, "ppmd.xml", 10, b"\x62\x00")  # PPMd: not in zipfile
    assert [u.name for u in known_files("art", data, max_bytes=1000)] == ["good.xml"]
    assert "'ppmd.xml' skipped" in caplog.text


def test_a_corrupt_deflate_stream_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    body = bytes(range(256)) * 40
    data = zipped({"broken.xml": body, **GOOD})
    start = data.index(b"broken.xml") + len("broken.xml")  # its compressed bytes follow
    data = data[:start] + b"\xff" * 16 + data[start + 16:]
    assert [u.name for u in known_files("art", data, max_bytes=100_000)] == ["good.xml"]
    assert "'broken.xml' skipped" in caplog.text


def test_a_truncated_deflate_stream_is_skipped() -> None:
    data = zipped({"short.xml": bytes(range(256)) * 40, **GOOD})
    at = central_entry(data, "short.xml")
    compressed = int.from_bytes(data[at + 20:at + 24], "little")
    data = patched_central(data, "short.xml", 20, (compressed // 2).to_bytes(4, "little"))
    assert [u.name for u in known_files("art", data, max_bytes=100_000)] == ["good.xml"]


def test_a_member_without_a_name_is_skipped() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"x")
        archive.writestr("good.xml", b"<testsuite/>")
    assert [u.name for u in known_files("art", buffer.getvalue(), max_bytes=100)] == ["good.xml"]


def test_a_member_header_out_of_the_file_is_skipped() -> None:
    data = zipped({"far.xml": b"<testsuite/>", **GOOD})
    data = patched_central(data, "far.xml", 42, (2**31).to_bytes(4, "little"))  # its offset
    assert [u.name for u in known_files("art", data, max_bytes=1000)] == ["good.xml"]


def test_an_archive_zipfile_cannot_list_is_a_bad_zip() -> None:
    # A name flagged UTF-8 that is not: zipfile's own UnicodeDecodeError while listing.
    data = zipped({"a.xml": b"<testsuite/>"})
    data = patched_central(data, "a.xml", 8, b"\x00\x08")
    data = patched_central(data, "a.xml", 46, b"a.\xed")
    with pytest.raises(zipfile.BadZipFile, match="not a readable zip"):
        known_files("art", data, max_bytes=100)
