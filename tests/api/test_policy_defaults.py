"""Every knob default is read from one table (api.stats.defaults) and the docs agree with it."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from api.services import job_settings
from api.services.job_settings import JobSettings
from api.stats import KNOBS, aggregator, bayes, stddev
from api.stats.baseline import compute_baseline
from api.stats.defaults import POLICY_DEFAULTS
from tests.fixtures import ROOT

TABLE = dataclasses.asdict(POLICY_DEFAULTS)
# The policy functions' own names for knobs the job settings name differently.
SETTING_OF_KNOB = {"budget": "false_block_budget"}


def _keyword_defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    return {p.name: p.default for p in inspect.signature(fn).parameters.values()
            if p.default is not inspect.Parameter.empty}


def test_job_settings_default_to_the_table() -> None:
    settings = dataclasses.asdict(JobSettings())
    shared = set(settings) & set(TABLE)
    assert shared == {"false_block_budget", "z", "min_attempts", "window_days", "max_runs",
                      "latch", "run_timeout"}
    assert {key: settings[key] for key in shared} == {key: TABLE[key] for key in shared}


def test_policy_keyword_defaults_are_the_table() -> None:
    knobs = {(policy, knob): default for policy, by_name in KNOBS.items()
             for knob, default in by_name.items()}
    assert knobs == {(policy, knob): TABLE[SETTING_OF_KNOB.get(knob, knob)]
                     for policy, knob in knobs}
    helpers = [bayes.thresholds, stddev.allowed_failures, aggregator.pity, compute_baseline]
    for fn in helpers:
        for name, default in _keyword_defaults(fn).items():
            key = SETTING_OF_KNOB.get(name, name)
            if key in TABLE:
                assert default == TABLE[key], f"{fn.__qualname__}({name}=...)"


def test_every_table_entry_is_read() -> None:
    read = {SETTING_OF_KNOB.get(knob, knob) for by_name in KNOBS.values() for knob in by_name}
    read |= {field.name for field in dataclasses.fields(JobSettings)}
    assert set(TABLE) <= read


def _as_number(text: str) -> float | bool:
    if text in ("true", "false"):
        return text == "true"
    return float(text.rstrip("%")) / (100 if text.endswith("%") else 1)


@pytest.mark.parametrize("key", ["false_block_budget", "z", "min_attempts", "window_days",
                                 "max_runs", "latch"])
def test_the_settings_docs_state_the_table(key: str) -> None:
    table_row = re.search(rf"^\| `{key}` \| [^|]+ \| ([^|]+) \|", job_settings.__doc__ or "",
                          re.MULTILINE)
    assert table_row is not None and _as_number(table_row.group(1).strip()) == TABLE[key]
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    described = spec["components"]["schemas"]["JobSettings"]["properties"][key]["description"]
    stated = re.search(r"\(default ([^)]+)\)", described)
    assert stated is not None and _as_number(stated.group(1)) == TABLE[key]


def test_the_readme_states_the_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    prose = " ".join(readme.split())  # the README wraps its sentences anywhere
    budget = re.search(r"false-block budget\*\* \((\d+%) per job", prose)
    assert budget is not None and _as_number(budget.group(1)) == TABLE["false_block_budget"]
    window = re.search(r"newest (\d+) runs of the last (\d+) days", prose)
    assert window is not None
    assert (int(window.group(1)), int(window.group(2))) == (TABLE["max_runs"],
                                                            TABLE["window_days"])
