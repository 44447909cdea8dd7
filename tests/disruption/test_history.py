"""The columnar history summary equals the per-run one, down to the policies' checks."""

from __future__ import annotations

import random

import numpy as np

from api.disruption import aggregator, bayes
from api.disruption.history import summarise, summarise_columns
from api.disruption.model import MeasurementKey, MeasurementKind, RunMeasurements, Variant
from api.store.disruption import MeasurementColumns

D, A = MeasurementKind.DISRUPTIONS, MeasurementKind.ALERTS
VARIANT = Variant("4.16", "4.15", "aws", "amd64", "ovn", "ha", "Y")


def realistic(rng: random.Random, keys: list[MeasurementKey], runs: int
              ) -> list[dict[MeasurementKey, int]]:
    """Zero-inflated seconds with heavy tails; a key a run did not name is absent."""
    out = []
    for _ in range(runs):
        seconds = {}
        for i, key in enumerate(keys):
            u = rng.random()
            if u < 0.5 - i / 200:
                continue  # not named: 0
            seconds[key] = 0 if u < 0.6 else int(rng.expovariate(1 / (1 + i)) * (5 if u > 0.98
                                                                                   else 1))
        out.append(seconds)
    return out


def columns_of(per_run: list[dict[MeasurementKey, int]]) -> MeasurementColumns:
    keys = sorted({key for seconds in per_run for key in seconds})
    at = {key: i for i, key in enumerate(keys)}
    cells = [(r, at[key], s) for r, seconds in enumerate(per_run) for key, s in seconds.items()]
    return MeasurementColumns(
        keys=tuple(keys), variants=(VARIANT,),
        run_variant=np.zeros(len(per_run), dtype=np.int32),
        m_run=np.array([r for r, _, _ in cells], dtype=np.int32),
        m_key=np.array([k for _, k, _ in cells], dtype=np.int32),
        m_seconds=np.array([s for _, _, s in cells], dtype=np.int64))


def test_columns_summarise_as_per_run_seconds_and_the_policies_agree() -> None:
    rng = random.Random(12)
    keys = [MeasurementKey(D, f"backend-{i}") for i in range(36)]
    only_in_payload = MeasurementKey(D, "new-backend")
    past = realistic(rng, keys, 150)
    raw = {key: [seconds.get(key, 0) for seconds in past] for key in [*keys, only_in_payload]}
    from_columns = summarise_columns(columns_of(past), [only_in_payload])
    assert from_columns == summarise(raw)
    assert from_columns[only_in_payload].seconds == (0,) * 150
    payload = [RunMeasurements("j", f"p{i}", VARIANT, seconds)
               for i, seconds in enumerate(realistic(rng, [*keys, only_in_payload], 10))]
    for policy in (aggregator.evaluate, bayes.evaluate):
        assert policy(payload, from_columns) == policy(payload, raw)


def test_no_runs_or_one_run() -> None:
    assert summarise_columns(columns_of([]), [MeasurementKey(A, "E")]) == {}
    one = summarise_columns(columns_of([{MeasurementKey(D, "x"): 4}]), [MeasurementKey(D, "y")])
    assert one == summarise({MeasurementKey(D, "x"): [4], MeasurementKey(D, "y"): [0]})
