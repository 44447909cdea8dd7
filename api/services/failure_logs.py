"""The failed step's log of a failure, for the decisive line of a failure no pattern explains.

A run's logs carry no step status, so the failed step is taken to be the one whose log was
stored last (CI stops at the failing step, and uploads the steps as they end); equal times go
to the later step name. Texts are fetched in one call for all failures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from api.failures.model import Classification
from api.store import Store


def reader(store: Store) -> Callable[[Sequence[Classification]],
                                     Mapping[tuple[str, str], tuple[str, Sequence[str]]]]:
    """A ``LogLines`` function (see :mod:`api.services.failures`) reading ``store``'s logs."""

    def read(failures: Sequence[Classification]
             ) -> Mapping[tuple[str, str], tuple[str, Sequence[str]]]:
        steps: dict[tuple[str, str], str] = {}
        for failure in failures:
            logs = store.logs.list_logs(failure.job, failure.run_id)
            if logs:
                last = max(logs, key=lambda info: (info.stored_at, info.step))
                steps[(failure.job, failure.run_id)] = last.step
        if not steps:
            return {}
        texts = store.logs.get_texts([(job, run, step) for (job, run), step in steps.items()])
        return {(job, run): (step, texts[(job, run, step)].split("\n"))
                for (job, run), step in steps.items() if (job, run, step) in texts}

    return read
