from __future__ import annotations

import pytest

from client.durations import format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("2h", 7200), ("30s", 30), ("90m", 5400), ("1h30m", 5400), ("45", 45), ("0", 0),
    ("1.5h", 5400), ("250ms", 0.25), ("1d", 86400), (" 2H ", 7200),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "2x", "1h 30m", "-5", "nan", "inf", "30s2", "m30"])
def test_parse_duration_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (59.6, "1m"), (90, "1m30s"), (3600, "1h"), (5400, "1h30m"),
])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
