"""openapi.yaml is the API's truth: its paths and methods must equal the app's routes."""

from __future__ import annotations

import re

from flask import Flask
from openapi_spec_validator import validate

from tests.openapi_validation import METHODS, spec


def app_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        if rule.endpoint.startswith("ui"):  # the pages (issue 15) are HTML, not the API
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method.lower() in METHODS:
                routes.add((method.lower(), path))
    return routes


def spec_routes() -> set[tuple[str, str]]:
    return {(method, path) for path, item in spec()["paths"].items()
            for method in item if method in METHODS}


def test_the_document_is_valid_openapi() -> None:
    validate(spec())


def test_paths_and_methods_equal_the_apps_routes(app: Flask) -> None:
    assert app_routes(app) == spec_routes()


def test_every_operation_documents_its_errors_with_the_one_shape() -> None:
    for path, item in spec()["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["$ref"].startswith("#/components/responses/"), (method, path)


def test_the_served_contract_is_the_file(app: Flask) -> None:
    from tests.openapi_validation import SPEC_PATH

    served = app.test_client().get("/openapi.yaml").get_data(as_text=True)
    assert served == SPEC_PATH.read_text(encoding="utf-8")
