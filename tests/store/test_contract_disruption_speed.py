"""Contract: ``job_history_columns(..., nonzero=True)``, the payload policies' cheaper read."""

from __future__ import annotations

from datetime import timedelta

from api.store import Store

from .test_contract_disruption import (
    T0,
    D,
    disruption_file,
    history_of,
    key,
    run,
    seed_window,
)


def test_nonzero_history_leaves_zeros_out_but_keeps_their_keys(store: Store) -> None:
    seed_window(store)
    run(store, "zeros", started=T0 + timedelta(hours=12))
    store.disruption.put_artifacts("j", "zeros", [], [disruption_file("g", x=0, z=0, w=5)])
    full = store.disruption.job_history_columns("j", D, T0, T0 + timedelta(days=10))
    cols = store.disruption.job_history_columns("j", D, T0, T0 + timedelta(days=10),
                                                nonzero=True)
    # z was only ever measured as 0: still a key, with no measurement
    assert cols.keys == full.keys == (key("w"), key("x"), key("y"), key("z"))
    assert (cols.run_ids, cols.variants) == (full.run_ids, full.variants)
    assert cols.run_variant.tolist() == full.run_variant.tolist()
    assert history_of(full)[0] == ("zeros", history_of(full)[0][1],
                                   {key("w"): 5, key("x"): 0, key("z"): 0})
    assert history_of(cols) == [
        (run_id, variant, {k: s for k, s in seconds.items() if s})
        for run_id, variant, seconds in history_of(full)]
    assert int((cols.m_seconds == 0).sum()) == 0
    empty = store.disruption.job_history_columns("nope", D, T0, nonzero=True)
    assert (empty.runs, empty.keys, empty.m_seconds.size) == (0, (), 0)
