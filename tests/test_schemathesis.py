"""A bounded schemathesis run over the whole contract: no 5xx, no response that breaks it."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from api import create_app
from api.store import open_store

ADMIN = "fg_schemathesis-admin"


@pytest.fixture
def contract_schema(tmp_path: Path) -> schemathesis.BaseSchema:
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    store = open_store(url)
    store.migrate()
    store.close()
    app = create_app({"DATABASE": url, "ADMIN_TOKEN": ADMIN})
    return schemathesis.openapi.from_wsgi("/openapi.yaml", app)


schema = schemathesis.pytest.from_fixture("contract_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_the_api_honours_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN}"})
