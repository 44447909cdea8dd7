"""Hostile patterns: the scanner stays linear where a backtracking engine explodes.

Each classic catastrophic-backtracking pattern is scanned (``api.failures.scan``, compiled
beforehand) against a one-line log of ``--line-kib`` KiB built to make a backtracking engine try
every way to split it, and against lines 4 and 16 times longer: linear time shows as a ratio of
about 4 between the last two (from 1x to 4x the time can grow more, as a 1 MiB line still fits
in a CPU's L2 cache and a 4 MiB one does not). For contrast Python's backtracking ``re`` runs
the first pattern on the same line in a child process that is killed after ``--re-timeout``
seconds. Target (issue 13): linear time.

    python bench/scan_hostile.py [--line-kib 1024] [--re-timeout 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.failures.model import Pattern, PatternSyntax  # noqa: E402
from api.failures.scan import CompiledSet, compile_patterns, scan  # noqa: E402

# (pattern, the line for n bytes): each line is the input its backtracking blows up on.
HOSTILE = (
    (r"(a+)+$", lambda n: "a" * (n - 1) + "!"),
    (r"(x|x)*y", lambda n: "x" * n),
    (r"(a|aa)*b", lambda n: "a" * n),
    (r"(.*a){20}", lambda n: "a" * 19 + "b" * (n - 19)),
    (r"(\w+\s?)+$", lambda n: "word " * (n // 5 - 1) + "word!"),
    (r"^(a|a?)+z$", lambda n: "a" * n),
    (r"(.*){1,1000}[bc]", lambda n: "a" * n),
)
PYTHON_RE = """
import re, sys, time
line = "a" * ({n} - 1) + "!"
started = time.perf_counter()
re.search(r"(a+)+$", line)
print(time.perf_counter() - started)
"""


def best_time(compiled: CompiledSet, line: str, repeat: int) -> float:
    data = (line + "\n").encode()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        scan(compiled, data, step="build")
        best = min(best, time.perf_counter() - started)
    return best


def python_re(size: int, timeout: float) -> str:
    try:
        done = subprocess.run([sys.executable, "-c", PYTHON_RE.format(n=size)],
                              capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return f"did not finish in {timeout:g} s (killed)"
    return f"{float(done.stdout) * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--line-kib", type=int, default=1024)
    parser.add_argument("--re-timeout", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    size = args.line_kib * 1024
    print(f"one line of {args.line_kib} KiB (x1), {4 * args.line_kib} KiB (x4) and "
          f"{16 * args.line_kib} KiB (x16); best of {args.repeat}; ratio = x16 / x4")
    print(f"{'pattern':20} {'ms x1':>9} {'MB/s x1':>8} {'ms x4':>9} {'ms x16':>9} {'ratio':>6}")
    for expression, line in HOSTILE:
        compiled = compile_patterns([Pattern(1, 1, expression, PatternSyntax.REGEX)])
        one, four, sixteen = (best_time(compiled, line(times * size), args.repeat)
                              for times in (1, 4, 16))
        print(f"{expression:20} {one * 1000:9.1f} {size / one / 1e6:8.1f} {four * 1000:9.1f} "
              f"{sixteen * 1000:9.1f} {sixteen / four:6.1f}")
    print(f"python re, (a+)+$ on the {args.line_kib} KiB line: "
          f"{python_re(size, args.re_timeout)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
