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
