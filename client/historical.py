"""``flakegate analyze-historical-data``: compare two versions of origin's ``query_results.json``
(SPEC §9 "Refreshing the baselines"), as ci-tools' ``job-run-aggregator
analyze-historical-data`` does for the release team.

Followed: openshift/ci-tools ``pkg/jobrunaggregator/jobrunhistoricaldataanalyzer`` (``analyzer.go``
``compareAndUpdate``, ``util.go``, ``pr_message_template.md``) and ``jobrunaggregatorapi``
(``GetKey``). Rows are keyed by name (alerts: name, namespace, level) and FromRelease, Release,
Architecture, Platform, Network, Topology. Percentiles are read as ci-tools reads them
(``%.3f`` seconds; unreadable is 0). For each key in both files: percent = (new - old) / old x
100 (0 when old is 0); a P99 *increase* counts when new > old and percent > leeway (P95 increases
over the leeway are shown beside it); any P99 *decrease* counts. Keys only in the new data are
"added", keys only in the current "missing": the new data wins, missing keys are not carried
over. ci-tools' release-transition step (which asks Sippy for the current release) is left out.

Outputs: the new data sorted by key, each row exactly as read (field order and strings), in
Go's ``json.MarshalIndent`` form; a Markdown PR message (counts, and the rows with at least
100 runs whose P99 increase counted, by P95 increase); and a "requires review" file when any
P99 increase or decrease counted. Exit 0 on success.

The client never imports the server: this module reads JSON and, with ``--new`` omitted, asks
the server for its current baseline in origin form.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client import errors
from client.cli_support import add_connection_flags, make_client
from client.exit_status import ExitStatus

Row = Mapping[str, Any]
KINDS = ("disruptions", "alerts")
MIN_TABLE_RUNS = 100
_VARIANT_FIELDS = ("FromRelease", "Release", "Architecture", "Platform", "Network", "Topology")


def row_key(row: Row, data_type: str) -> str:
    """ci-tools' ``GetKey``: the fields joined by ``_``."""
    if data_type == "alerts":
        name = [row.get("AlertName", ""), row.get("AlertNamespace", ""),
                row.get("AlertLevel", "")]
    else:
        name = [row.get("BackendName", "")]
    return "_".join(str(part) for part in [*name, *(row.get(f, "") for f in _VARIANT_FIELDS)])


def seconds(text: Any) -> float:
    """A percentile string as ci-tools reads it: to the millisecond, 0 when unreadable."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return 0.0
    return round(value, 3) if math.isfinite(value) else 0.0


def _percent(new: float, old: float) -> float:
    return (new - old) / old * 100 if old else 0.0


@dataclass(frozen=True, slots=True)
class Compared:
    row: Row
    key: str
    p95: float
    p99: float
    prev_p95: float | None = None
    prev_p99: float | None = None
    p95_increase: float = 0.0
    """Seconds, when the P95 rose by more than the leeway; else 0."""
    p95_percent: float = 0.0
    p99_increase: float = 0.0
    """Seconds, when the P99 increase counted; else 0."""
    p99_percent: float = 0.0


@dataclass(frozen=True, slots=True)
class Comparison:
    data_type: str
    leeway: float
    rows: tuple[Compared, ...]
    """Every new row, sorted by key."""
    added: tuple[str, ...]
    missing: tuple[Compared, ...]
    increased: int
    decreased: int
    unmatched: tuple[str, ...] = field(default=())

    @property
    def requires_review(self) -> bool:
        return bool(self.increased or self.decreased)


def compare(current: Sequence[Row], new: Sequence[Row], data_type: str,
            leeway: float) -> Comparison:
    old_by_key = {row_key(row, data_type): row for row in current}
    new_by_key = {row_key(row, data_type): row for row in new}
    rows, added = [], []
    increased = decreased = 0
    for key in sorted(new_by_key):
        row = new_by_key[key]
        p95, p99 = seconds(row.get("P95")), seconds(row.get("P99"))
        old = old_by_key.get(key)
        if old is None:
            added.append(key)
            rows.append(Compared(row, key, p95, p99))
            continue
        old95, old99 = seconds(old.get("P95")), seconds(old.get("P99"))
        pct95, pct99 = _percent(p95, old95), _percent(p99, old99)
        up95 = p95 > old95 and pct95 > leeway
        up99 = p99 > old99 and pct99 > leeway
        increased += up99
        decreased += p99 < old99
        rows.append(Compared(row, key, p95, p99, old95, old99,
                             p95 - old95 if up95 else 0.0, pct95 if up95 else 0.0,
                             p99 - old99 if up99 else 0.0, pct99 if up99 else 0.0))
    missing = tuple(Compared(row, key, seconds(row.get("P95")), seconds(row.get("P99")))
                    for key, row in sorted(old_by_key.items()) if key not in new_by_key)
    return Comparison(data_type, leeway, tuple(rows), tuple(added), missing, increased,
                      decreased)


def origin_json(rows: Sequence[Row]) -> str:
    """Go's ``json.MarshalIndent(rows, "", "  ")``: two spaces, ``<``, ``>``, ``&`` escaped,
    other text as UTF-8, no trailing newline."""
    text = json.dumps(list(rows), indent=2, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _cell(text: Any) -> str:
    """A Markdown table cell: pipes and line breaks in a name cannot break the table."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(rows: Sequence[Compared], name_field: str) -> str:
    lines = ["| Name | Release | From | Arch | Network | Platform | Topology | Job Results | "
             "P95 | P95 % Increase | P99 | P99 % Increase |",
             "| ---- | ------- | ---- | ---- | ------- | -------- | -------- | ----------- | "
             "--- | -------------- | --- | -------------- |"]
    for c in rows:
        r = c.row
        lines.append(
            f"| {_cell(r.get(name_field, ''))} | {_cell(r.get('Release', ''))} | "
            f"{_cell(r.get('FromRelease', ''))} | {_cell(r.get('Architecture', ''))} | "
            f"{_cell(r.get('Network', ''))} | {_cell(r.get('Platform', ''))} | "
            f"{_cell(r.get('Topology', ''))} | {_cell(r.get('JobRuns', ''))} | "
            f"{c.p95:g}s | {c.p95_percent:.2f}% | {c.p99:g}s | {c.p99_percent:.2f}% |")
    return "\n".join(lines)


def pr_message(result: Comparison) -> str:
    name_field = "AlertName" if result.data_type == "alerts" else "BackendName"
    parts = [f"## {result.data_type} Information", "",
             f"There were (`{len(result.added)}`) added jobs and (`{len(result.missing)}`) "
             "were removed."]
    risen = sorted((c for c in result.rows if c.p99_increase > 0
                    and _runs(c.row) >= MIN_TABLE_RUNS),
                   key=lambda c: -c.p95_increase)
    if result.increased or result.decreased:
        parts += ["", f"### Comparisons were above allowed leeway of `{result.leeway:.2f}%`", "",
                  f"Note: {result.data_type} had `{result.increased}` jobs increased and "
                  f"`{result.decreased}` jobs decreased."]
        if risen:
            parts += ["", f"Rows with at least {MIN_TABLE_RUNS} job runs whose P99 rose, by P95 "
                          "increase:", "", _table(risen, name_field)]
    if result.missing:
        parts += ["", "### Missing Data", "",
                  "Note: Jobs that are missing from the new data set but were present in the "
                  "previous dataset.", "", _table(result.missing, name_field)]
    return "\n".join(parts) + "\n"


def review_note(result: Comparison) -> str:
    lines = []
    if result.increased:
        lines.append(f"({result.data_type}) had ({result.increased}) results increased in "
                     f"duration beyond specified leeway of {result.leeway:.2f}%")
    if result.decreased:
        lines.append(f"({result.data_type}) had ({result.decreased}) results decreased in "
                     "duration")
    return "".join(line + "\n" for line in lines)


def _runs(row: Row) -> int:
    try:
        return int(row.get("JobRuns", 0))
    except (TypeError, ValueError):
        return 0


def read_rows(path: str) -> list[Row]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise errors.InputError(f"cannot read {path}: {err.strerror or err}") from None
    except ValueError as err:
        raise errors.InputError(f"{path} is not JSON: {err}") from None
    return _checked(data, path)


def _checked(data: Any, source: str) -> list[Row]:
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise errors.InputError(f"{source} is not a query_results.json (a JSON list of rows)")
    if not data:
        raise errors.InputError(f"{source} has no rows, nothing to compare")
    return data


def fetch_rows(args: argparse.Namespace) -> list[Row]:
    """The server's current baseline of the kind, in origin form."""
    with make_client(args) as client:
        text = client.disruption_baselines_origin(args.data_type)
    try:
        data = json.loads(text)
    except ValueError:
        raise errors.UnexpectedResponse("the current baseline in origin form is not JSON",
                                        method="GET", url="/disruption/baselines") from None
    return _checked(data, "the server's current baseline")


def _run(args: argparse.Namespace) -> int:
    if args.leeway < 0:
        raise errors.InputError("--leeway must be zero or more (a percentage)")
    current = read_rows(args.current)
    new = read_rows(args.new) if args.new else fetch_rows(args)
    result = compare(current, new, args.data_type, args.leeway)
    output = args.output_file or f"results_{args.data_type}.json"
    _write(output, origin_json([c.row for c in result.rows]))
    _write(args.pr_message, pr_message(result))
    if result.requires_review:
        _write(args.require_review, review_note(result))
    print(f"compared {args.data_type} with a leeway of {args.leeway:.2f}%: "
          f"{len(result.rows)} rows written to {output}, {len(result.added)} added, "
          f"{len(result.missing)} missing, {result.increased} P99 increases, "
          f"{result.decreased} P99 decreases"
          + (f"; review required ({args.require_review})" if result.requires_review else ""))
    return ExitStatus.OK


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as err:
        raise errors.InputError(f"cannot write {path}: {err.strerror or err}") from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "analyze-historical-data",
        help="compare two origin query_results.json files (or one with flakegate's baseline)",
        description=__doc__.split("\n\n")[0])
    parser.add_argument("--current", required=True, metavar="FILE",
                        help="the committed query_results.json")
    parser.add_argument("--new", default=None, metavar="FILE",
                        help="the new data (default: the server's current baseline, --url)")
    parser.add_argument("--data-type", required=True, choices=KINDS)
    parser.add_argument("--leeway", type=float, default=30.0, metavar="PERCENT",
                        help="P99 increases up to this many percent do not count (default 30)")
    parser.add_argument("--output-file", default=None, metavar="FILE",
                        help="the new data sorted by key (default: results_<data-type>.json)")
    parser.add_argument("--pr-message", default="pr_message.md", metavar="FILE")
    parser.add_argument("--require-review", default="require_review", metavar="FILE",
                        help="written when any P99 increase or decrease counted")
    add_connection_flags(parser)
    parser.set_defaults(handler=_run)
