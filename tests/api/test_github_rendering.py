"""GET /payloads/{payload_id}/github: what flakegate publishes on GitHub, for the action."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.github.comment import MARKER
from api.store import Store, open_store
from tests.conftest import ApiClient
from tests.github_scenario import SHA, build


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    handle = open_store(database_url)
    yield handle
    handle.close()


def test_the_rendering_of_a_payload(api: ApiClient, store: Store) -> None:
    build(api, store)
    response = api.get(f"/payloads/{SHA}/github")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["verdict"] == "fail"
    [status] = body["statuses"]
    assert status["context"] == "flakegate" and status["state"] == "failure"
    assert status["target_url"] == f"http://localhost/ui/payloads/{SHA}"  # no PUBLIC_URL
    check = body["check_run"]
    assert (check["name"], check["status"], check["conclusion"]) == ("flakegate", "completed",
                                                                     "failure")
    assert check["title"] == status["description"] and len(check["annotations"]) == 6
    assert body["comment"]["marker"] == MARKER
    assert body["comment"]["body"].startswith(MARKER)
    assert "#### Known breakages (1)" in body["comment"]["body"]


def test_links_go_to_the_public_url(database_url: str, tokens: dict[str, str],
                                    store: Store) -> None:
    from api import create_app
    from tests.conftest import ADMIN_TOKEN

    app = create_app({"DATABASE": database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
                      "PUBLIC_URL": "https://flakegate.example"})
    admin = ApiClient(app, ADMIN_TOKEN)
    build(admin, store)
    reader = ApiClient(app, tokens["read"])
    body = reader.get(f"/payloads/{SHA}/github").json
    assert body["statuses"][0]["target_url"] == f"https://flakegate.example/ui/payloads/{SHA}"
    assert "(https://flakegate.example/ui/jobs/" in body["comment"]["body"]


def test_an_unknown_payload_is_404(api: ApiClient) -> None:
    response = api.get("/payloads/nothing-here/github")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
