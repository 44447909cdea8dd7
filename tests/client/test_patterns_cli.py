"""``flakegate scan``'s progress line: redrawn in place on a terminal, sparse otherwise."""

from __future__ import annotations

import io
from typing import Any

from client.patterns import follow_scan


class FakeClient:
    """Answers GET /scans/{id} with the next of a scripted series of states."""

    def __init__(self, states: list[dict[str, Any]]) -> None:
        self.states = states

    def get_scan(self, scan_id: int) -> dict[str, Any]:
        return self.states.pop(0)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def state(name: str, logs: int, matches: int = 0) -> dict[str, Any]:
    return {"id": 7, "state": name, "logs_scanned": logs, "matches": matches}


def test_on_a_terminal_the_line_is_redrawn_and_ends_with_a_newline() -> None:
    stream = Terminal()
    final = follow_scan(FakeClient([state("running", 200, 3), state("done", 350, 5)]),  # type: ignore[arg-type]
                        state("queued", 0), stream, sleep=lambda s: None)
    assert final["state"] == "done"
    out = stream.getvalue()
    assert out.count("\r\x1b[2K") == 3 and out.endswith("350 logs scanned, 5 matches\n")
    assert out.count("\n") == 1


def test_without_a_terminal_a_line_every_ten_seconds_and_the_last() -> None:
    stream = io.StringIO()
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    states = [state("running", n * 10) for n in range(1, 25)] + [state("failed", 250)]
    final = follow_scan(FakeClient(states), state("queued", 0), stream,  # type: ignore[arg-type]
                        clock=lambda: now[0], sleep=sleep)
    assert final["state"] == "failed"
    out = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert out[0] == "scan 7: queued, 0 logs scanned, 0 matches"
    assert out[-1] == "scan 7: failed, 250 logs scanned, 0 matches"
    assert len(out) == 4  # at 0 s, 10 s and 20 s, and the final state
