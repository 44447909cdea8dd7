"""SQLite SQL as PostgreSQL runs it: the dialect seam that lets the SQLite parts serve PostgreSQL.

The SQLite parts write SQL that is mostly portable (``ON CONFLICT ... DO UPDATE``,
``excluded.*``, ``RETURNING``, row values). What differs is rewritten here once, mechanically,
so that a part written against SQLite runs on PostgreSQL without a second copy of its SQL:

* placeholders ``?`` and ``:name`` become psycopg's ``%s`` and ``%(name)s`` (a literal ``%``
  is doubled);
* ``x IN (SELECT value FROM json_each(?))`` becomes ``x = ANY(?)`` and the bound JSON array
  becomes an array literal, whose element type PostgreSQL infers from ``x`` (an index on ``x``
  stays usable); other ``json_each(e)`` become ``json_array_elements_text(e::json)``, and
  ``SELECT key FROM json_each(?)`` becomes ``json_object_keys``;
* ``group_concat(e)`` becomes ``string_agg(e::text, ',')``; two-argument ``max``/``min``
  become ``greatest``/``least``; ``IS [NOT] e`` becomes ``IS [NOT] DISTINCT FROM e``;
* the target's bare columns in ``ON CONFLICT ... DO UPDATE`` get qualified (SQLite reads them
  as the existing row's, PostgreSQL calls them ambiguous);
* ``INSERT OR IGNORE`` becomes ``INSERT ... ON CONFLICT DO NOTHING``, ``INSERT OR REPLACE``
  an upsert on the key named in ``REPLACE_KEYS``; an unnamed subquery in FROM gets a name;
  numbered ``?1`` placeholders become named ones; a bare parameter operand of OR/AND is cast
  to boolean, and so is a flag column (``FLAG_COLUMNS``) used as a truth value; ``CROSS JOIN t ON``
  (SQLite's planner hint) becomes ``JOIN t ON``; ``temp.`` becomes ``pg_temp.``;
  ``date(e, 'unixepoch')`` becomes the UTC day as text; ``json_each(?) AS k`` (a bound list
  of ids joined as a table) becomes ``unnest(?::bigint[])``; the ``end`` column is quoted.

What cannot be rewritten honestly (bulk result writes, a few aggregate queries) is written for
PostgreSQL in the backend's own modules instead. ``sum(boolean)`` is supplied by the schema (an
aggregate created by migration 0001), as SQLite sums comparisons as integers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_STRING = re.compile(r"'(?:[^']|'')*'")
_MASK = "\x00{}\x00"
_MASKED = re.compile("\x00(\\d+)\x00")
_POSITIONAL = "\x01{}\x01"
_NAMED = "\x02{}\x02"
_PARAM = "(?:\x01\\d+\x01|\x02\\w+\x02)"
_IN_JSON = re.compile(
    r"\b(NOT\s+)?IN\s*\(\s*SELECT\s+value\s+FROM\s+json_each\(\s*(" + _PARAM + r")\s*\)\s*\)",
    re.IGNORECASE)
_KEYS_JSON = re.compile(r"\bSELECT\s+key\s+FROM\s+json_each\(\s*(" + _PARAM + r")\s*\)",
                        re.IGNORECASE)
_ALIAS = re.compile(r"\s+AS\s+(\w+)", re.IGNORECASE)
_CROSS_ON = re.compile(r"\bCROSS\s+JOIN\s+(\w+(?:\s+AS)?\s+\w+)\s+ON\b", re.IGNORECASE)
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)
_IS = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)
_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
# A temporary staging table's rowid key (SQLite numbers INTEGER PRIMARY KEY rows itself).
_TEMP_KEY = re.compile(r"\bi INTEGER PRIMARY KEY\b")
_INSERT_TARGET = re.compile(r"\bINSERT\s+INTO\s+(\w+)(?:\s+AS\s+(\w+))?\s*\(([^)]*)\)",
                            re.IGNORECASE)
_DO_UPDATE = re.compile(r"\bDO\s+UPDATE\s+SET\b", re.IGNORECASE)
# A parameter that is itself an operand of OR/AND (SQLite's integers are truth values).
_BOOL_OPERAND = re.compile(
    r"(?<=\()\s*(" + _PARAM + r")(?=\s+(?:OR|AND)\b)"
    r"|(?:(?<=\bOR )|(?<=\bAND )|(?<=\bNOT ))(" + _PARAM + r")(?=\s*(?:\)|\bOR\b|\bAND\b))")
_OR_REPLACE = re.compile(r"\bINSERT\s+OR\s+REPLACE\s+INTO\b", re.IGNORECASE)
# The key of each table the parts write with INSERT OR REPLACE (the conflict target).
REPLACE_KEYS: dict[str, tuple[str, ...]] = {"run_measures": ("run_pk",)}
_NOT_ALIASES = frozenset({"WHERE", "GROUP", "ORDER", "LIMIT", "JOIN", "LEFT", "RIGHT", "INNER",
                          "CROSS", "FULL", "UNION", "EXCEPT", "INTERSECT", "ON", "HAVING",
                          "WINDOW", "OFFSET", "NATURAL"})
# The 0/1 flag columns (integers in both schemas), where SQL uses them as truth values.
FLAG_COLUMNS = ("has_disruptions", "has_alerts", "from_cluster_data", "latch", "latched",
                "promoted")
_FLAG_OPERAND = re.compile(
    r"(?:(?<=\bWHERE )|(?<=\bAND )|(?<=\bOR )|(?<=\bNOT ))((?:\w+\.)?(?:"
    + "|".join(FLAG_COLUMNS) + r"))\b(?!\s*(?:[=<>!+*/|-]|IS\b|IN\b|NOT\b|LIKE\b|BETWEEN\b))",
    re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Statement:
    """One translated statement: its PostgreSQL text and which parameters (positions for
    ``?``, names for ``:name``) carry JSON arrays to turn into array literals."""

    sql: str
    arrays: frozenset[int | str]
    named: bool
    numbered: bool = False

    def bind(self, params: Any) -> Any:
        """``params`` as the translated statement takes them (NUL-escaped, see
        :func:`escape`)."""
        if params is None:
            return {} if self.named else ()
        if self.numbered:
            params = {f"_{i}": value for i, value in enumerate(params, start=1)}
        if self.named or isinstance(params, dict):
            params = {key: escape(value) if type(value) is str else value
                      for key, value in params.items()}
        else:
            params = [escape(value) if type(value) is str else value for value in params]
        if not self.arrays:
            return params
        if self.named:
            return {key: array_literal(value) if key in self.arrays else value
                    for key, value in params.items()}
        return [array_literal(value) if i in self.arrays else value
                for i, value in enumerate(params)]


# PostgreSQL text cannot hold NUL, which the contract lets names and messages contain. Text is
# stored with NUL as \x01\x01 and \x01 as \x01\x02: reversible, and order-preserving under
# the C collation (NUL sorted first, and still does), so cursors and ORDER BY agree with SQLite.
_ESCAPES = str.maketrans({"\x00": "\x01\x01", "\x01": "\x01\x02"})
_UNESCAPE = re.compile("\x01([\x01\x02])")


def escape(text: str) -> str:
    """``text`` as stored (see ``_ESCAPES``); most text has neither character."""
    return text.translate(_ESCAPES) if "\x00" in text or "\x01" in text else text


def unescape(text: str) -> str:
    """The text :func:`escape` stored."""
    if "\x01" not in text:
        return text
    return _UNESCAPE.sub(lambda m: "\x00" if m.group(1) == "\x01" else "\x01", text)


def array_literal(value: Any) -> str | None:
    """A JSON array (as text, or a list) as a PostgreSQL array literal, e.g. ``{1,2}``."""
    if value is None:
        return None
    items = json.loads(value) if isinstance(value, str | bytes) else list(value)
    return "{" + ",".join(_element(item) for item in items) + "}"


def _element(item: Any) -> str:
    if item is None:
        return "NULL"
    if isinstance(item, bool):
        return "1" if item else "0"
    if isinstance(item, int | float):
        return repr(item)
    text = escape(str(item)).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _call_end(sql: str, open_at: int) -> int:
    """Index just past the parenthesis closing the one at ``open_at``."""
    depth = 0
    for i in range(open_at, len(sql)):
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError(f"unbalanced parentheses in {sql!r}")


def _top_level_args(inner: str) -> list[str]:
    args, depth, start = [], 0, 0
    for i, char in enumerate(inner):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            args.append(inner[start:i])
            start = i + 1
    args.append(inner[start:])
    return args


def _rewrite_calls(sql: str, name: str, rewrite: Any) -> str:
    """Replace each call ``name(args)`` by ``rewrite(args, rest)`` -> (text, consumed_rest)."""
    pattern = re.compile(r"\b" + name + r"\s*\(", re.IGNORECASE)
    out, pos = [], 0
    while (match := pattern.search(sql, pos)) is not None:
        open_at = match.end() - 1
        end = _call_end(sql, open_at)
        inner = _rewrite_calls(sql[open_at + 1:end - 1], name, rewrite)
        text, consumed = rewrite(_top_level_args(inner), sql[end:])
        out.append(sql[pos:match.start()] + text)
        pos = end + consumed
    out.append(sql[pos:])
    return "".join(out)


def _json_each(args: list[str], rest: str) -> tuple[str, int]:
    alias = _ALIAS.match(rest)
    name = alias.group(1) if alias else "json_each"
    if re.fullmatch(_PARAM, args[0].strip()):
        # A bound array joined as a table: the parts join lists of integer ids this way.
        table = f"unnest(({args[0].strip()})::bigint[])"
    else:
        table = f"json_array_elements_text(({args[0]})::json)"
    return f"{table} AS {name}(value)", alias.end() if alias else 0


def _date(args: list[str], rest: str) -> tuple[str, int]:
    if len(args) == 2 and args[1].strip() == "'unixepoch'":
        return f"to_char(to_timestamp({args[0]}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')", 0
    return f"date({','.join(args)})", 0


def _group_concat(args: list[str], rest: str) -> tuple[str, int]:
    separator = args[1] if len(args) > 1 else "','"
    return f"string_agg(({args[0]})::text, {separator})", 0


def _extreme(aggregate: str, scalar: str) -> Any:
    def rewrite(args: list[str], rest: str) -> tuple[str, int]:
        return f"{aggregate if len(args) == 1 else scalar}({','.join(args)})", 0
    return rewrite


def _qualify(expr: str, table: str, columns: set[str]) -> str:
    return re.sub(r"(?<![.\w\x02])([A-Za-z_]\w*)\b(?!\s*[.(])",
                  lambda m: f"{table}.{m.group(1)}" if m.group(1) in columns else m.group(1),
                  expr)


def _upsert_columns(sql: str) -> str:
    """Qualify the target's columns in ``DO UPDATE SET ... [WHERE ...]``: SQLite reads a bare
    column there as the existing row's, PostgreSQL calls it ambiguous with ``excluded``."""
    target = _INSERT_TARGET.search(sql)
    update = _DO_UPDATE.search(sql)
    if target is None or update is None:
        return sql
    table = target.group(2) or target.group(1)
    columns = {column.strip() for column in target.group(3).split(",")}
    body_end = _RETURNING.search(sql, update.end())
    end = body_end.start() if body_end else len(sql)
    body = sql[update.end():end]
    where = re.search(r"\bWHERE\b", body, re.IGNORECASE)
    assignments = body[:where.start()] if where else body
    items = []
    for item in _top_level_args(assignments):
        column, _, value = item.partition("=")
        items.append(f"{column}={_qualify(value, table, columns)}")
    rest = _qualify(body[where.start():], table, columns) if where else ""
    return sql[:update.end()] + ",".join(items) + rest + sql[end:]


def _insert_or_replace(sql: str) -> str:
    """``INSERT OR REPLACE`` as an upsert on the table's key (named in ``REPLACE_KEYS``)."""
    match = _OR_REPLACE.search(sql)
    if match is None:
        return sql
    sql = sql[:match.start()] + "INSERT INTO" + sql[match.end():]
    target = _INSERT_TARGET.search(sql)
    assert target is not None, sql
    key = REPLACE_KEYS[target.group(1)]
    columns = [column.strip() for column in target.group(3).split(",")]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return f"{sql.rstrip()} ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"


def _subquery_aliases(sql: str) -> str:
    """Name every unnamed subquery in FROM (PostgreSQL before 16 requires it)."""
    out, pos, count = [], 0, 0
    for match in re.finditer(r"\bFROM\s*\((?=\s*SELECT\b)", sql, re.IGNORECASE):
        if match.start() < pos:
            continue
        end = _call_end(sql, match.end() - 1)
        follows = re.match(r"\s*(\w+)", sql[end:])
        if follows is None or follows.group(1).upper() in _NOT_ALIASES:
            count += 1
            out.append(sql[pos:end] + f" AS _sub{count}")
            pos = end
    out.append(sql[pos:])
    return "".join(out)


def _insert_or_ignore(sql: str) -> str:
    if not _OR_IGNORE.search(sql):
        return sql
    sql = _OR_IGNORE.sub("INSERT INTO", sql)
    returning = _RETURNING.search(sql)
    if returning is None:
        return sql.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    return sql[:returning.start()] + "ON CONFLICT DO NOTHING " + sql[returning.start():]


@lru_cache(maxsize=4096)
def translate(sql: str) -> Statement:
    """The PostgreSQL form of one SQLite statement (cached: the parts reuse few texts)."""
    strings: list[str] = []

    def mask(match: re.Match[str]) -> str:
        strings.append(match.group(0))
        return _MASK.format(len(strings) - 1)

    code = _STRING.sub(mask, sql)
    numbered = re.search(r"\?\d", code) is not None
    code = re.sub(r"\?(\d+)", lambda m: _NAMED.format(f"_{m.group(1)}"), code)
    counter = iter(range(1 << 30))
    code = re.sub(r"\?", lambda _: _POSITIONAL.format(next(counter)), code)
    named = "\x01" not in code
    code = re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", lambda m: _NAMED.format(m.group(1)), code)
    arrays: set[int | str] = set()

    def as_any(match: re.Match[str]) -> str:
        token = match.group(2)
        arrays.add(int(token[1:-1]) if token.startswith("\x01") else token[1:-1])
        return f"<> ALL({token})" if match.group(1) else f"= ANY({token})"

    code = _IN_JSON.sub(as_any, code)
    code = _KEYS_JSON.sub(lambda m: f"SELECT json_object_keys(({m.group(1)})::json)", code)
    code = _rewrite_calls(code, "json_each", _json_each)
    arrays.update(int(t[1:-1]) if t.startswith("\x01") else t[1:-1]
                  for t in re.findall(r"unnest\(\((" + _PARAM + r")\)", code))
    code = _rewrite_calls(code, "date", lambda args, rest: _date(
        [_MASKED.sub(lambda m: strings[int(m.group(1))], arg) for arg in args], rest))
    code = _rewrite_calls(code, "group_concat", _group_concat)
    code = _rewrite_calls(code, "max", _extreme("max", "greatest"))
    code = _rewrite_calls(code, "min", _extreme("min", "least"))
    code = _IS_NOT.sub("IS DISTINCT FROM ", code)
    code = _IS.sub("IS NOT DISTINCT FROM ", code)
    # After the IS rewrites, so that the NOT of IS NOT is not read as a negation.
    code = _FLAG_OPERAND.sub(lambda m: f"({m.group(1)} <> 0)", code)
    code = _BOOL_OPERAND.sub(lambda m: f"({m.group(1) or m.group(2)})::boolean", code)
    code = _CROSS_ON.sub(lambda m: f"JOIN {m.group(1)} ON", code)
    code = _insert_or_ignore(code)
    code = _insert_or_replace(code)
    code = _subquery_aliases(code)
    code = _upsert_columns(code)
    code = re.sub(r"\btemp\.", "pg_temp.", code)
    code = _TEMP_KEY.sub("i bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", code)
    code = re.sub(r"\bstart, end\b", 'start, "end"', code)
    code = code.replace("%", "%%")
    code = _MASKED.sub(lambda m: strings[int(m.group(1))].replace("%", "%%"), code)
    code = re.sub("\x01\\d+\x01", "%s", code)
    code = re.sub("\x02(\\w+)\x02", r"%(\1)s", code)
    return Statement(code, frozenset(arrays), named and "%(" in code, numbered)
