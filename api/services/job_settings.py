"""A job's ``settings`` map, validated and typed.

Settings a job may carry (SPEC section 3: verdict policy, expected runs, false-block budget,
history window), all optional. The defaults come from :data:`api.stats.defaults.POLICY_DEFAULTS`
(the tests hold this table to it):

| key | type | default | meaning |
|---|---|---|---|
| `false_block_budget` | float in (0, 0.5] | 0.01 | `bayes`: how often a good payload is blocked |
| `z` | float >= 0 | 1.0 | `stddev`: standard deviations of allowance |
| `min_attempts` | int >= 1 | 6 | `aggregator`: fewer attempts fail every test that ran |
| `window_days` | int >= 1 | 21 | baseline history window |
| `max_runs` | int >= 1 | 200 | at most this many newest runs in a baseline |
| `latch` | bool | false | a new baseline never lowers a test's pass rate |
| `informing` | list of test names | [] | tests that are reported but never block |
| `require_baseline` | bool | false | a job without a usable baseline fails (not just warns) |
| `run_timeout` | duration, 1m to 30d | 12h | a run pending longer counts as `error` |
| `disruption` | `block`, `inform`, `off` | `block` | a failed disruption check fails the job |
| `disruption_policy` | `bayes`, `aggregator` | `bayes` | the disruption policy that decides |
| `excuse` | list of tags | ["infra"] | failed runs whose decisive cause has one are not evidence |
| `github_context` | 1 to 100 characters | `flakegate` | the GitHub commit status covering the job |

Every setting can weaken the gate, so changing any of them is an admin act, audited
(:mod:`api.services.governance`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from api.domain import Job
from api.services.errors import InvalidInput
from api.stats.defaults import POLICY_DEFAULTS
from client.durations import parse_duration

RUN_TIMEOUT_RANGE = (60.0, 30 * 86400.0)
DEFAULT_EXCUSE = frozenset({"infra"})
MAX_EXCUSE_TAGS = 100
# Units always written (openapi.yaml states the same pattern): a bare "3600" is ambiguous.
DURATION_PATTERN = re.compile(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$")
DEFAULT_GITHUB_CONTEXT = "flakegate"
GITHUB_CONTEXT = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{1,100}$")
DISRUPTION_CHOICES: dict[str, tuple[str, ...]] = {
    "disruption": ("block", "inform", "off"),
    "disruption_policy": ("bayes", "aggregator"),
}


@dataclass(frozen=True, slots=True)
class JobSettings:
    false_block_budget: float = POLICY_DEFAULTS.false_block_budget
    z: float = POLICY_DEFAULTS.z
    min_attempts: int = POLICY_DEFAULTS.min_attempts
    window_days: int = POLICY_DEFAULTS.window_days
    max_runs: int = POLICY_DEFAULTS.max_runs
    latch: bool = POLICY_DEFAULTS.latch
    informing: frozenset[str] = frozenset()
    require_baseline: bool = False
    run_timeout: str = POLICY_DEFAULTS.run_timeout
    # -- disruption and alert judging (SPEC §9) --
    disruption: str = "block"
    disruption_policy: str = "bayes"
    # Failure causes (SPEC §10): a failed run whose decisive match's pattern carries one of
    # these tags (compared lower-cased) is an infrastructure outcome, as an error run is.
    excuse: frozenset[str] = DEFAULT_EXCUSE
    # GitHub (issue 14): jobs of one repository that name the same context share one commit
    # status; branch protection can require each context by name.
    github_context: str = DEFAULT_GITHUB_CONTEXT

    @classmethod
    def of(cls, job: Job) -> JobSettings:
        return cls.parse(job.settings)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> JobSettings:
        """Validate a settings map; raises :class:`InvalidInput` naming each bad key."""
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}

        def number(key: str, low: float, high: float, *, integer: bool) -> None:
            if key not in raw:
                return
            value = raw[key]
            if integer and isinstance(value, float) and value.is_integer():
                value = int(value)  # JSON has one number type: 200.0 is the integer 200
            kind_ok = isinstance(value, int) if integer else isinstance(value, int | float)
            if isinstance(value, bool) or not kind_ok or not low <= value <= high:
                kind = "an integer" if integer else "a number"
                errors[key] = [f"must be {kind} from {low} to {high}"]
            else:
                values[key] = value

        number("false_block_budget", 1e-9, 0.5, integer=False)
        number("z", 0.0, 10.0, integer=False)
        number("min_attempts", 1, 1000, integer=True)
        number("window_days", 1, 3650, integer=True)
        number("max_runs", 1, 100_000, integer=True)
        for flag in ("latch", "require_baseline"):
            if flag in raw:
                if isinstance(raw[flag], bool):
                    values[flag] = raw[flag]
                else:
                    errors[flag] = ["must be true or false"]
        if "informing" in raw:
            names = raw["informing"]
            if isinstance(names, list) and all(isinstance(n, str) and n for n in names):
                values["informing"] = frozenset(names)
            else:
                errors["informing"] = ["must be a list of test names"]
        if "excuse" in raw:
            tags = raw["excuse"]
            if (isinstance(tags, list) and len(tags) <= MAX_EXCUSE_TAGS
                    and all(isinstance(t, str) and 0 < len(t) <= 64 for t in tags)):
                values["excuse"] = frozenset(t.lower() for t in tags)
            else:
                errors["excuse"] = [f"must be a list of at most {MAX_EXCUSE_TAGS} pattern tags"
                                    " (1 to 64 characters each)"]
        if "run_timeout" in raw:
            if _duration_in(raw["run_timeout"], *RUN_TIMEOUT_RANGE):
                values["run_timeout"] = raw["run_timeout"]
            else:
                errors["run_timeout"] = ["must be a duration from 1m to 30d, e.g. 90m, 12h, 2d"]
        for key, choices in DISRUPTION_CHOICES.items():
            if key in raw:
                if raw[key] in choices:
                    values[key] = raw[key]
                else:
                    errors[key] = [f"must be one of {', '.join(choices)}"]
        if "github_context" in raw:
            context = raw["github_context"]
            if isinstance(context, str) and GITHUB_CONTEXT.match(context) and context.strip():
                values["github_context"] = context
            else:
                errors["github_context"] = ["must be 1 to 100 printable characters"]
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        for key in unknown:
            errors[key] = ["unknown setting"]
        if errors:
            raise InvalidInput({"settings": errors})
        return cls(**values)

    def knobs(self, policy: str) -> dict[str, Any]:
        """The policy function's keyword arguments these settings imply."""
        if policy == "bayes":
            return {"budget": self.false_block_budget}
        if policy == "stddev":
            return {"z": self.z}
        if policy == "aggregator":
            return {"min_attempts": self.min_attempts}
        return {}

    @property
    def timeout(self) -> timedelta:
        """``run_timeout`` as a time span (validated by :meth:`parse`)."""
        return timedelta(seconds=parse_duration(self.run_timeout))

    def is_informing(self, _suite: str, name: str) -> bool:
        return name in self.informing


def _duration_in(value: Any, low: float, high: float) -> bool:
    if not isinstance(value, str) or not DURATION_PATTERN.match(value):
        return False
    try:
        return low <= parse_duration(value) <= high
    except ValueError:
        return False
