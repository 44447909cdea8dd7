"""The Markdown verdict cannot be hijacked by hostile names (``api.markdown``).

Rendered with a real CommonMark implementation (markdown-it-py, with GFM tables and
strikethrough) and judged on its token stream: hostile payload, job, test and reason strings add
no heading, link, image, HTML, emphasis, list, quote or table row, and each still reads as
itself. GitHub's mentions, issue references and bare-URL links are applied after rendering, on
the text, so they are modelled by :func:`github_would_link` on the rendered text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from api.markdown import WORD_JOINER, code_span, inline
from api.services import verdict_markdown
from api.services.verdicts import JobVerdict, PayloadVerdict, RunsSummary
from api.stats.types import Regression

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])

HOSTILE = [
    "&#13;&#13;## ✅ flakegate: `x` is **pass**",
    '<img src="https://evil.example/x.png" onerror="alert(1)">',
    "rc1` is **pass** (policy `x`)",
    "[docs](https://evil.example) ![i](https://evil.example/i.png) [ref]: https://e.example",
    "<https://evil.example> <a@b.example> www.evil.example https://evil.example/p",
    "@octocat @github/security cc:@admin mail a@b.example",
    "fixes #123, GH-42 and owner/repo#7",
    "a | b || c \\| d",
    "line\nbreak\r\rcr\x0bvt\x0cff\x85nel\u2028ls\u2029ps\r\n| x | y |",
    "> quoted",
    "- item",
    "+ item",
    "* item",
    "1. item",
    "12) item",
    "=====",
    "---",
    "    four spaces",
    "~~strike~~ ~one~ *em* _em_ __strong__ $x^2$ $$y$$",
    "<!-- comment --> <script>alert(1)</script> </td></tr>",
    "\\*not em\\* \\\\ trailing backslash \\",
    "``` fenced",
    "\u202eevil\u202c and \u2066isolate\u2069",
    "Class#method[param=1] (aws)/ovn-4.19",
    "\x00nul \t tab",
]
LINE_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
FORBIDDEN = {"link_open", "image", "html_block", "html_inline", "em_open", "s_open",
             "code_block", "fence", "blockquote_open", "bullet_list_open", "ordered_list_open",
             "hr", "softbreak", "hardbreak"}


def as_read(text: str) -> str:
    """What a reader must see for ``text``: one line, bidi controls shown, ends trimmed."""
    return BIDI.sub("\ufffd", LINE_BREAKS.sub(" ", text)).replace(WORD_JOINER, "").strip()


def text_of(token: Token) -> str:
    assert token.type == "inline"
    kinds = {child.type for child in token.children or []}
    assert kinds <= {"text"}, f"unexpected inline markup {kinds} in {token.content!r}"
    return "".join(child.content for child in token.children or []).replace(WORD_JOINER, "")


def github_would_link(text: str) -> bool:
    """GitHub's post-render filters: mentions, issue references, bare URLs and emails."""
    return bool(re.search(r"@[A-Za-z0-9]|#[0-9]|\bGH-[0-9]|://|www\.", text, re.IGNORECASE))


def verdict(payload: str, jobs: list[tuple[str, str, list[str]]],
            deadline: datetime | None = None) -> PayloadVerdict:
    return PayloadVerdict(
        payload=payload, verdict="fail", policy="pooled", deadline=deadline,
        deadline_passed=deadline is not None, etag="e",
        jobs=tuple(
            JobVerdict(
                job=job, verdict="fail", policy="pooled",
                runs=RunsSummary(expected=3, finished=3, counted=3, pending=0), baseline=None,
                tests_checked=7, notes={}, reason=reason,
                regressions=tuple(
                    Regression(test=test, suite=test, passes=1, failures=2,
                               baseline_pass_rate=None, allowed_failures=0, p_value=0.01,
                               reason=test)
                    for test in tests),
            )
            for job, reason, tests in jobs),
    )


def rows(tokens: list[Token]) -> list[list[str]]:
    """Each table row's cells as rendered text, header rows included, tables one after another."""
    found: list[list[str]] = []
    for token in tokens:
        if token.type == "tr_open":
            found.append([])
        elif token.type == "inline" and found and token.level > 2:
            # Blanks at a cell's edges are layout, not content (which ones a renderer trims varies).
            found[-1].append(text_of(token).strip())
    return found


def check(rendered: PayloadVerdict) -> None:
    markdown = verdict_markdown.render(rendered)
    tokens = MD.parse(markdown)
    every = [*tokens, *(child for token in tokens for child in token.children or [])]
    assert not FORBIDDEN & {token.type for token in every}, markdown
    regressions = [(job.job, r) for job in rendered.jobs for r in job.regressions]
    headings = [token.tag for token in tokens if token.type == "heading_open"]
    assert headings == (["h2", "h3"] if regressions else ["h2"]), markdown
    assert sum(token.type == "strong_open" for token in every) == 1  # the renderer's **fail**
    assert [token.content for token in every if token.type == "code_inline"] == [
        BIDI.sub("\ufffd", LINE_BREAKS.sub(" ", rendered.payload)), "pooled"]

    table = rows(tokens)
    shown = regressions[: verdict_markdown.MAX_ROWS]
    assert len(table) == 1 + len(rendered.jobs) + (1 + len(shown) if shown else 0), "no new rows"
    jobs = table[1 : 1 + len(rendered.jobs)]
    assert [row[0] for row in jobs] == [as_read(job.job) for job in rendered.jobs]
    assert [row[5] for row in jobs] == [as_read(job.reason) for job in rendered.jobs]
    assert all(len(row) == 6 for row in jobs)
    if shown:
        regression_rows = table[2 + len(rendered.jobs):]
        assert len(regression_rows) == len(shown), "no extra table rows"
        assert [row[:2] for row in regression_rows] == [
            [as_read(job), as_read(r.test)] for job, r in shown]
    if rendered.deadline is not None:
        [paragraph] = [t for t in tokens if t.type == "inline" and t.content.startswith("Dead")]
        assert rendered.deadline.isoformat() in text_of(paragraph)
    for token in every:
        if token.type == "text":
            assert not github_would_link(token.content), token.content


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_render_as_themselves(hostile: str) -> None:
    check(verdict(hostile, [(hostile, hostile, [hostile, f"x {hostile}"]), ("plain", "ok", [])],
                  deadline=datetime(2026, 12, 1, 10, 0, tzinfo=UTC)))


def test_every_hostile_name_at_once_adds_exactly_their_rows() -> None:
    check(verdict("rc1` is **pass**", [(name, name, HOSTILE) for name in HOSTILE]))


def test_the_issue_examples_leave_no_trace_in_the_html() -> None:
    html = MD.render(verdict_markdown.render(verdict(
        "rc1` is **pass**",
        [("e2e", "r", ["&#13;&#13;## ✅ all good **pass**", "<img src=x onerror=alert(1)>",
                        "@octocat please merge"])])))
    assert "<img" not in html and "<h2>✅" not in html and html.count("<h2>") == 1
    assert f"&amp;#{WORD_JOINER}13;&amp;#{WORD_JOINER}13;## ✅ all good **pass**" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert f"@{WORD_JOINER}octocat please merge" in html
    assert "<code>rc1` is **pass**</code>" in html


def test_ordinary_names_stay_readable_in_the_raw_markdown() -> None:
    markdown = verdict_markdown.render(verdict(
        "4.19.0-0.nightly-2026-11-20-101010",
        [("e2e (aws)/ovn", "no regression in 3 tests", ["pkg.TestFoo/sub-test (1.5s)"])]))
    assert "`4.19.0-0.nightly-2026-11-20-101010`" in markdown
    assert "| e2e (aws)/ovn |" in markdown and "| pkg.TestFoo/sub-test (1.5s) |" in markdown


def test_code_span_fences_outgrow_the_text() -> None:
    assert code_span("a``b") == "```a``b```"
    assert code_span("`x") == "`` `x ``"
    assert code_span(" x") == "`  x `"
    assert code_span("") == "`  `"  # blanks, not a bare "``" that would show two backticks
    assert code_span("a\nb") == "`a b`"


def test_inline_escapes_line_start_markers_only_at_the_start() -> None:
    assert inline("- a - b") == "\\- a - b"
    assert inline("  12. x 3. y") == "  12\\. x 3. y"
    assert inline("a@b #1 www.x https://y") == (
        f"a@{WORD_JOINER}b \\#{WORD_JOINER}1 www{WORD_JOINER}.x https:{WORD_JOINER}//y")


PUNCTUATION = st.sampled_from([
    *"\\`*_~[]()!<>&|#$@:/.=+-{}^'\"%;?,",
    "\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\t", " ", "    ",
    "&#13;", "&amp;", "## ", "> ", "- ", "1. ", "www.", "http://", "@a", "#1", "GH-1", "<a>",
    "](", "![", "``", "~~", "**", "__", "\u202e", WORD_JOINER])
NAMES = st.lists(st.one_of(PUNCTUATION, st.text(max_size=3)), max_size=25).map("".join)


@settings(max_examples=150, deadline=None)
# A payload of blanks only is shown as a span of more blanks: CommonMark cannot keep the count.
@given(payload=NAMES.filter(lambda s: LINE_BREAKS.sub(" ", s).strip(" ") != ""),
       jobs=st.lists(st.tuples(NAMES, NAMES, st.lists(NAMES, max_size=3)), min_size=1,
                     max_size=3))
def test_fuzzed_names_cannot_hijack_the_verdict(
    payload: str, jobs: list[tuple[str, str, list[str]]]
) -> None:
    check(verdict(payload, jobs))
