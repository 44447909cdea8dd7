"""Markdown that user-controlled text cannot hijack: names and reasons in PR comments.

A pull request's author controls its test names (and, through CI configuration, job and payload
names), and flakegate's Markdown verdict is posted as a PR comment or a job summary. A name like
``&#13;&#13;## ✅ passed`` or ``<img src=x>`` or ``[docs](https://evil.example)`` must render as
exactly those characters, never as a heading, HTML, a link, emphasis or a new table row.

:func:`inline` is for running text and table cells:

* Control characters (Unicode category Cc: CR, LF, VT, FF, NEL, NUL, tab ...) and the separators
  U+2028/U+2029 become a space, so nothing can end the line or the table row. Bidirectional
  controls (U+202A-U+202E, U+2066-U+2069) become U+FFFD: they could make a row display in an
  order other than its text (the "Trojan Source" trick).
* ASCII punctuation with an inline meaning is backslash-escaped, which CommonMark guarantees
  renders the character literally: ``\\`` (so the text's own backslashes escape nothing),
  `````` ` `````` (code), ``*`` ``_`` (emphasis), ``~`` (strikethrough), ``[`` ``]`` ``!`` (links,
  images, footnotes), ``<`` ``>`` (raw HTML, autolinks, block quotes), ``&`` (entity references,
  so ``&#13;`` stays five characters instead of becoming a carriage return), ``|`` (GFM splits
  table cells before inline parsing but honours ``\\|``), ``#`` (headings) and ``$`` (GitHub's
  maths). At the start of the text ``-``, ``+``, ``=`` and a number's ``.`` or ``)`` are escaped
  too (lists, setext underlines), in case the text ever starts a line. Other punctuation has no
  inline meaning once ``[``/``]``/``<`` are escaped (``(``, ``)``, ``/``, ``.``, ``:``, ``-``
  ...), and stays as written so that a raw summary remains readable.
* GitHub turns ``@user`` and ``@org/team`` into mentions (notifying people), ``#123`` and
  ``GH-123`` into issue references (cross-linking the issue), and ``www.`` / ``scheme://`` /
  ``a@b.example`` into links *after* rendering, on the text of the HTML, where backslashes and
  entities (``\\@``, ``&#64;``) are already gone: escaping cannot stop them. A WORD JOINER
  (U+2060, invisible and zero-width) is inserted right after ``@`` and ``#`` when a letter or
  digit follows, after ``GH-`` before a digit, between ``:`` and ``//``, and between ``www`` and
  ``.``. The patterns then no longer match (a mention needs its username right after the
  ``@``), and the text reads the same; a copied name carries the invisible character.

:func:`code_span` wraps text in a code span for places outside tables (a heading): nothing inside
a code span is interpreted by CommonMark or linked by GitHub. Line breaks become spaces and the
fence is one backtick longer than the longest run of backticks in the text. Not for table cells:
a ``|`` inside a code span still splits a GFM cell.
"""

from __future__ import annotations

import re

__all__ = ["WORD_JOINER", "code_span", "inline"]

WORD_JOINER = "\u2060"

# Cc (C0, DEL, C1: includes \t \n \v \f \r \x1c-\x1e \x85) plus the line and paragraph separators.
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_INLINE_SYNTAX = re.compile(r"([\\`*_~\[\]!<>&|#$])")
_LINE_START_SYNTAX = re.compile(r"^(\s*)(?:([-+=])|(\d+)([.)]))")
# GitHub's post-rendering autolinks, each matched at the point where a word joiner breaks it.
_GITHUB_LINKS = re.compile(
    r"(?<=[@#])(?=[A-Za-z0-9])|(?<=\bgh-)(?=\d)|(?<=:)(?=//)|(?<=www)(?=\.)", re.IGNORECASE
)
_BACKTICKS = re.compile("`+")


def _one_line(text: str) -> str:
    return _BIDI_CONTROLS.sub("\ufffd", _LINE_BREAKING.sub(" ", text))


def inline(text: str) -> str:
    """``text`` as Markdown that renders as ``text`` itself, on one line (see the module doc)."""
    text = _GITHUB_LINKS.sub(WORD_JOINER, _one_line(text))
    text = _INLINE_SYNTAX.sub(r"\\\1", text)
    return _LINE_START_SYNTAX.sub(_escape_line_start, text, count=1)


def _escape_line_start(match: re.Match[str]) -> str:
    space, sign, number, delimiter = match.groups()
    if sign is not None:
        return f"{space}\\{sign}"
    return f"{space}{number}\\{delimiter}"


def code_span(text: str) -> str:
    """``text`` as one code span: shown verbatim in monospace (line breaks become spaces)."""
    text = _one_line(text)
    fence = "`" * (max(map(len, _BACKTICKS.findall(text)), default=0) + 1)
    # CommonMark strips one space from each end of a code span that has one at both ends, so
    # padding keeps a backtick or a space at either end from touching (or being eaten by) the
    # fence; an empty text becomes a span of blanks rather than a bare "``".
    if not text or text[0] in " `" or text[-1] in " `":
        text = f" {text} "
    return f"{fence}{text}{fence}"
