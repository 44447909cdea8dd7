"""The shared-corpus rule: a missing ``../shared/fixtures`` fails under CI and skips elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures import SHARED_FIXTURES, shared_fixtures

MISSING = "no-such-corpus"


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_missing_corpus_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match=re.escape(str(SHARED_FIXTURES / MISSING))):
        shared_fixtures(MISSING)


@pytest.mark.parametrize("value", [None, "", "false"])
def test_missing_corpus_skips_outside_ci(monkeypatch: pytest.MonkeyPatch,
                                         value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match=re.escape(str(SHARED_FIXTURES / MISSING))):
        shared_fixtures(MISSING)


def test_present_corpus_is_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.fixtures.SHARED_FIXTURES", tmp_path)
    (tmp_path / "prow").mkdir()
    monkeypatch.setenv("CI", "true")
    assert shared_fixtures("prow") == tmp_path / "prow"
