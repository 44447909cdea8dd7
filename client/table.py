"""Plain-text output shared by the commands: aligned tables with a header, and plurals."""

from __future__ import annotations

from collections.abc import Sequence


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files`` (``many`` for irregular words: ``1 entry``)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *,
                 right: Sequence[str] = ()) -> str:
    """A header line and one line per row, columns padded to their widest cell (``None`` shown
    as ``-``); the columns named in ``right`` (numbers) align right. The last column is not
    padded, so a long free-text column (a URL, a test name) does not drag trailing spaces."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max([len(header), *(len(row[index]) for row in cells)])
              for index, header in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        padded = [value.rjust(width) if header in right else value.ljust(width)
                  for header, value, width in zip(headers, values, widths, strict=True)]
        if headers[-1] not in right:
            padded[-1] = values[-1]
        return "  ".join(padded).rstrip()

    return "\n".join([line(list(headers)), *(line(row) for row in cells)]) + "\n"


def _cell(value: object) -> str:
    if value is None or value == "":
        return "-"
    # One line per row whatever a user put in a name: a newline would break the columns.
    return " ".join(str(value).split()) if any(c in str(value) for c in "\n\r\t") \
        else str(value)
