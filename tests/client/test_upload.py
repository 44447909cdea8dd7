from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from client.errors import InputError
from client.upload import (
    PART_OVERHEAD,
    batches,
    display_name,
    expand,
    prepare,
    split_patterns,
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("results/shard-1/junit_01.xml", "results/shard-1/junit_02.xml",
                 "results/shard-2/junit_01.xml", "results/shard-2/nested/deep/junit.xml",
                 "results/notes.txt", "other/report.xml"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<testsuite name='{name}'/>")
    return tmp_path


def names(paths: list[Path], root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in paths]


def test_globs_recurse_and_folders_mean_every_xml_below(tree: Path) -> None:
    found = expand(["results/**/*.xml"], root=tree)
    assert names(found.files, tree) == [
        "results/shard-1/junit_01.xml", "results/shard-1/junit_02.xml",
        "results/shard-2/junit_01.xml", "results/shard-2/nested/deep/junit.xml"]
    assert names(expand(["results/shard-2"], root=tree).files, tree) == [
        "results/shard-2/junit_01.xml", "results/shard-2/nested/deep/junit.xml"]


def test_each_file_listed_once_and_unmatched_patterns_reported(tree: Path) -> None:
    found = expand(["results/shard-1/*.xml", "results/**/junit_01.xml", "missing/*.xml"],
                   root=tree)
    assert names(found.files, tree) == [
        "results/shard-1/junit_01.xml", "results/shard-1/junit_02.xml",
        "results/shard-2/junit_01.xml"]
    assert found.unmatched == ["missing/*.xml"]


def test_absolute_patterns_work_from_anywhere(tree: Path) -> None:
    found = expand([str(tree / "other" / "*.xml")], root=Path("/"))
    assert found.files == [tree / "other" / "report.xml"]


def test_split_patterns_reads_multiline_inputs() -> None:
    block = "results/**/*.xml\n\n  # a comment\n  other/*.xml  \n"
    assert split_patterns([block, "x.xml"]) == ["results/**/*.xml", "other/*.xml", "x.xml"]


def test_display_name_is_relative_and_drops_gz(tree: Path) -> None:
    assert display_name(tree / "results/shard-1/junit_01.xml", tree) == \
        "results/shard-1/junit_01.xml"
    assert display_name(tree / "a" / "junit.xml.gz", tree) == "a/junit.xml"
    assert display_name(Path("/elsewhere/junit.xml"), tree) == "/elsewhere/junit.xml"


def test_prepare_compresses_and_passes_gzip_through(tmp_path: Path) -> None:
    plain = tmp_path / "junit.xml"
    plain.write_bytes(b"<testsuite/>" * 100)
    part = prepare(plain, root=tmp_path)
    assert part.name == "junit.xml" and part.raw_size == 1200
    assert gzip.decompress(part.data) == plain.read_bytes()
    assert len(part.data) < part.raw_size
    packed = tmp_path / "old.xml.gz"
    packed.write_bytes(gzip.compress(b"<testsuite/>"))
    again = prepare(packed, root=tmp_path)
    assert again.data == packed.read_bytes() and again.name == "old.xml"


def test_prepare_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        prepare(tmp_path / "gone.xml")


def test_batches_stay_under_the_cap_and_keep_order(tmp_path: Path) -> None:
    sources = [(f"f{index:03d}.xml", os.urandom(3000)) for index in range(40)]
    cap = 4 * (3000 + 64 + PART_OVERHEAD)  # random bytes do not compress: about 4 per batch
    grouped = list(batches(sources, max_bytes=cap))
    assert len(grouped) >= 10
    assert [part.name for batch in grouped for part in batch] == [name for name, _ in sources]
    assert all(sum(part.wire_size for part in batch) <= cap for batch in grouped)


def test_batches_respect_the_file_count_and_send_an_oversized_file_alone() -> None:
    sources = [("small.xml", b"<a/>"), ("huge.xml", os.urandom(50_000)), ("small2.xml", b"<b/>")]
    grouped = list(batches(sources, max_bytes=10_000))
    assert [[part.name for part in batch] for batch in grouped] == [
        ["small.xml"], ["huge.xml"], ["small2.xml"]]
    counted = list(batches([(f"{i}.xml", b"<a/>") for i in range(7)], max_files=3))
    assert [len(batch) for batch in counted] == [3, 3, 1]


def test_batches_read_files_as_they_are_consumed() -> None:
    read: list[int] = []

    def sources():
        for index in range(100):
            read.append(index)
            yield (f"{index}.xml", b"<a/>")

    first = next(batches(sources(), max_files=10))
    assert len(first) == 10
    assert len(read) <= 11  # at most one file ahead of the batch being sent


def test_batch_limits_must_be_positive() -> None:
    with pytest.raises(InputError):
        list(batches([("a.xml", b"<a/>")], max_bytes=0))
