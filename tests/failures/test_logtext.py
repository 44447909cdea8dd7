"""The stored form of a log: escapes stripped, gzip inflated, bounded, long lines cut."""

from __future__ import annotations

import gzip
import json

import pytest

from api.failures.logtext import (
    MAX_LINE_CHARS,
    InvalidGzip,
    LogTooLarge,
    count_lines,
    cut_long_lines,
    line_range,
    prepare,
    strip_escapes,
)
from tests.fixtures import ROOT

LOGS = ROOT / "tests" / "data" / "logs"


@pytest.mark.parametrize(("raw", "plain"), [
    ("\x1b[31mFAILED\x1b[0m x", "FAILED x"),  # SGR colours
    ("\x1b[1;38;5;208mbold\x1b[m", "bold"),  # 256 colours, empty params
    ("a\x1b[2K\x1b[1Gb", "ab"),  # erase line, cursor column
    ("\x1b]0;title\x07text", "text"),  # OSC ended by BEL
    ("\x1b]8;;https://x.test\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink, ST
    ("\x1b(Bplain\x1b)0", "plain"),  # character-set designations
    ("keypad\x1b=\x1b>", "keypad"),  # two-character escapes
    ("lone \x1b", "lone "),  # a lone ESC at the end
    ("unfinished \x1b]0;title\nnext", "unfinished \nnext"),  # an OSC never spans lines
])
def test_terminal_escapes_are_stripped(raw: str, plain: str) -> None:
    assert strip_escapes(raw) == plain
    assert prepare(raw.encode()).text == plain


def test_gzip_is_found_by_its_magic_bytes_even_in_several_members() -> None:
    body = gzip.compress(b"one\n") + gzip.compress(b"two\n")
    assert prepare(body).text == "one\ntwo\n"
    chunks = [body[i:i + 3] for i in range(0, len(body), 3)]
    assert prepare(chunks).text == "one\ntwo\n"


def test_invalid_or_truncated_gzip_is_refused() -> None:
    with pytest.raises(InvalidGzip):
        prepare(b"\x1f\x8b not gzip at all")
    with pytest.raises(InvalidGzip):
        prepare(gzip.compress(b"x" * 1000)[:-12])


def test_a_gzip_bomb_stops_at_the_inflated_limit() -> None:
    bomb = gzip.compress(b"\n" * (50 * 1024 * 1024))
    with pytest.raises(LogTooLarge):
        prepare(bomb, max_inflated=1024 * 1024)
    with pytest.raises(LogTooLarge):
        prepare(b"x" * 2000, max_inflated=1000)


def test_invalid_utf8_is_replaced_and_crlf_and_lone_cr_are_newlines() -> None:
    log = prepare(b"caf\xe9\r\n10%\r50%\r100%\n")
    assert log.text == "caf\ufffd\n10%\n50%\n100%\n"
    assert log.lines == 4


def test_long_lines_keep_their_last_5000_characters() -> None:
    long = "x" * 7000 + "ERROR at the end"
    log = prepare(f"short\n{long}\n{'y' * MAX_LINE_CHARS}\n".encode())
    lines = log.text.split("\n")
    assert lines[1] == long[-MAX_LINE_CHARS:] and lines[1].endswith("ERROR at the end")
    assert lines[2] == "y" * MAX_LINE_CHARS
    assert log.cut_lines == 1
    assert cut_long_lines("abcdef\nab", limit=3) == ("def\nab", 1)


def test_a_log_over_the_limit_keeps_head_and_tail_with_a_marker() -> None:
    lines = [f"line {n:06d}" for n in range(100_000)]
    body = ("\n".join(lines) + "\n").encode()
    log = prepare([body[i:i + 4096] for i in range(0, len(body), 4096)], max_bytes=100_000)
    assert log.truncated and log.received_bytes == len(body)
    assert len(log.text.encode()) < 100_000 + 300
    kept = log.text.split("\n")
    assert kept[0] == "line 000000" and kept[-2] == "line 099999"
    marker = [line for line in kept if line.startswith("[flakegate:")]
    assert len(marker) == 1 and "FLAKEGATE_MAX_LOG_BYTES" in marker[0]
    assert f"{log.omitted_bytes} bytes" in marker[0]
    # Whole lines only on both sides of the marker, and nothing but the omitted bytes missing.
    known = set(lines)
    assert all(line in known for line in kept if line and not line.startswith("[flakegate:"))
    kept_lines = len(kept) - 2  # the marker and the empty string after the final newline
    assert kept_lines + log.omitted_lines == len(lines)
    assert len(body) - log.omitted_bytes == len(log.text.encode()) - len(marker[0]) - 1


def test_a_log_at_the_limit_is_whole() -> None:
    body = b"a\n" * 500
    log = prepare(body, max_bytes=1000)
    assert not log.truncated and log.text == body.decode()
    assert prepare(b"a\n" * 501, max_bytes=1000).truncated


def test_line_ranges_are_one_based_inclusive_and_clamped() -> None:
    text = "a\nb\nc\n"
    assert line_range(text, 2, 3) == "b\nc\n"
    assert line_range(text, 0, 1) == "a\n"
    assert line_range(text, 3, 99) == "c\n"
    assert line_range(text, 4, 9) == ""
    assert line_range("a\nb", 2, 2) == "b\n"
    assert count_lines("") == 0 and count_lines("a") == 1 and count_lines("a\n") == 1


def test_the_shipped_corpus_prepares_to_what_its_ground_truth_counts() -> None:
    manifest = json.loads((LOGS / "manifest.json").read_text())
    for entry in manifest["logs"]:
        raw = (LOGS / entry["file"]).read_bytes()
        log = prepare(gzip.compress(raw))
        assert "\x1b" not in log.text
        lines = log.text.split("\n")
        for _pattern, number in entry["matches"]:
            assert 1 <= number <= log.lines
        if entry["cause_lines"]:
            first, last = entry["cause_lines"]
            assert last <= log.lines and lines[first - 1]
