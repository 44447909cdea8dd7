"""Scan throughput: flakegate's scanner against ripgrep (``rg -j1``) on the same logs and patterns.

The logs are the realistic corpus of ``bench/log_corpus.py`` (Prow, pytest, go test, apt, pip and
GitHub Actions shapes, long lines, one injected failure cause per failed log), stored as the log
store keeps them: ANSI escapes stripped. The patterns are its curated set (100 patterns, 80%
literal), each applied to every line: ripgrep knows no steps and no ``lines_from_end``, so both
are left out to make the two tools do the same work. ripgrep gets the literals escaped for its
regex syntax, ``--no-unicode`` (RE2's ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII) and one
thread. flakegate's time includes compiling the patterns and reading the files, as ripgrep's
does; the two run in turn ``--repeat`` times and each keeps its best.
Both must report the same matching lines (the exit status is 1 otherwise). Targets (issue 13):
at least 50 MB/s and at most 3x ripgrep's time.

    python bench/scan_throughput.py [--mib 200] [--log-size 1000000] [--repeat 2] [--dir DIR]

``--dir`` keeps the generated corpus for the next run (generating 200 MiB takes about a minute).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from log_corpus import ANSI, generate, patterns  # noqa: E402

from api.failures.model import Pattern, PatternSyntax  # noqa: E402
from api.failures.scan import compile_patterns, scan  # noqa: E402

# Characters the regex syntax of ripgrep (Rust's regex crate) gives a meaning to.
RUST_META = set("\\.+*?()|[]{}^$#&-~")


def corpus(directory: Path, mib: float, log_size: int, seed: int) -> list[Path]:
    """The corpus files in ``directory``, generated unless a previous run left the same ones."""
    stamp = directory / "corpus.json"
    wanted = {"mib": mib, "log_size": log_size, "seed": seed}
    if stamp.exists():
        kept = json.loads(stamp.read_text())
        if kept["params"] == wanted:
            return [directory / name for name in kept["files"]]
    directory.mkdir(parents=True, exist_ok=True)
    count = max(1, math.ceil(mib * 2**20 / log_size))
    names = []
    for log in generate(count, log_size, seed, truth=False):
        (directory / log.name).write_bytes(ANSI.sub("", log.text).encode())
        names.append(log.name)
    stamp.write_text(json.dumps({"params": wanted, "files": names}))
    return [directory / name for name in names]


def curated() -> list[Pattern]:
    return [Pattern(int(row["id"]), 1, str(row["expression"]), PatternSyntax(row["syntax"]))
            for row in patterns()]


def rust_regex(pattern: Pattern) -> str:
    """The same expression in ripgrep's syntax, which refuses RE2's harmless ``\\"``."""
    if pattern.syntax is PatternSyntax.LITERAL:
        return "".join("\\" + char if char in RUST_META else char for char in pattern.expression)
    out, chars = [], iter(pattern.expression)
    for char in chars:
        if char == "\\":
            escaped = next(chars)
            needless = not escaped.isalnum() and escaped not in RUST_META
            out.append(escaped if needless else "\\" + escaped)
        else:
            out.append(char)
    return "".join(out)


def time_flakegate(files: list[Path], chosen: list[Pattern]) -> tuple[float, int, int]:
    """Seconds to read and scan every file, matching lines, (pattern, line) matches."""
    started = time.perf_counter()
    compiled = compile_patterns(chosen)
    lines = pairs = 0
    for path in files:
        found = scan(compiled, path.read_bytes(), step="build")
        pairs += len(found)
        lines += len({match.line_number for match in found})
    return time.perf_counter() - started, lines, pairs


def time_rg(files: list[Path], pattern_file: Path) -> tuple[float, int]:
    """Seconds for ``rg -j1`` over every file, and the matching lines it printed."""
    command = ["rg", "--no-config", "-j1", "--no-unicode", "-f", str(pattern_file),
               "--no-filename", "-n", *map(str, files)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: no match at all
        raise SystemExit(f"rg failed: {done.stderr.decode(errors='replace')}")
    return elapsed, done.stdout.count(b"\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=float, default=200)
    parser.add_argument("--log-size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if shutil.which("rg") is None:
        raise SystemExit("ripgrep (rg) is not installed: `make system-deps` installs it")
    directory = args.dir or Path(tempfile.mkdtemp(prefix="flakegate-scan-"))
    try:
        files = corpus(directory, args.mib, args.log_size, args.seed)
        size = sum(path.stat().st_size for path in files)
        chosen = curated()
        pattern_file = directory / "patterns.rg"
        pattern_file.write_text("".join(rust_regex(pattern) + "\n" for pattern in chosen))
        # Interleaved, so that both see the same load on a shared machine; best of each.
        runs = [(time_flakegate(files, chosen), time_rg(files, pattern_file))
                for _ in range(args.repeat)]
        ours = min((run[0] for run in runs), key=lambda result: result[0])
        floor = min((run[1] for run in runs), key=lambda result: result[0])
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    literals = sum(pattern.syntax is PatternSyntax.LITERAL for pattern in chosen)
    print(f"corpus: {len(files)} logs, {size / 2**20:.1f} MiB; patterns: {len(chosen)} "
          f"({literals} literal); best of {args.repeat}")
    print(f"{'':12} {'seconds':>8} {'MB/s':>8} {'matching lines':>15} {'matches':>8}")
    print(f"{'flakegate':12} {ours[0]:8.3f} {size / ours[0] / 1e6:8.1f} {ours[1]:15} {ours[2]:8}")
    print(f"{'rg -j1':12} {floor[0]:8.3f} {size / floor[0] / 1e6:8.1f} {floor[1]:15} {'':>8}")
    print(f"ratio flakegate/rg: {ours[0] / floor[0]:.2f} (target <= 3); "
          f"throughput {size / ours[0] / 1e6:.0f} MB/s (target >= 50)")
    if ours[1] != floor[1]:
        print(f"MISMATCH: flakegate found {ours[1]} matching lines, rg {floor[1]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
