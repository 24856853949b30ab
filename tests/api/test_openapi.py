"""The OpenAPI document is valid and documents every API route, and nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml
from flask import Flask
from openapi_spec_validator import validate


def test_openapi_is_valid_and_matches_the_routes(app: Flask) -> None:
    client = app.test_client()
    document = yaml.safe_load(client.get("/api/v1/openapi.yaml").get_data(as_text=True))
    validate(document)
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                routes.add((path, method))

    # Path parameter names differ (the spec says {id}); compare the shape of the paths.
    def shape(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        return {(re.sub(r"\{[^}]+\}", "{}", path), method) for path, method in pairs}

    assert shape(routes) - shape(documented) == set(), "routes missing from openapi.yaml"
    assert shape(documented) - shape(routes) == set(), "documented routes that do not exist"


def _responses(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], set[str]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation, set(operation["responses"])


def test_every_operation_documents_the_errors_it_can_give(app: Flask) -> None:
    """What routes share: 401/403/503 behind a token (the staff API writes its audit
    log), 400/413 for a JSON body (415/422 for the staff API's), 404 for an id in the
    path, 414 from the server in front."""
    document = yaml.safe_load(app.test_client().get("/api/v1/openapi.yaml").get_data())
    problems = []
    for path, method, operation, statuses in _responses(document):
        expected = {"414"}
        staff = bool(operation.get("security", document["security"]))
        if staff:
            expected |= {"401", "403", "503"}
        body = operation.get("requestBody", {})
        if "$ref" in body:
            body = document["components"]["requestBodies"][body["$ref"].rsplit("/", 1)[1]]
        if "application/json" in body.get("content", {}):
            # /api/v1/verify reads any body as JSON and judges only "qr": no 415 or 422.
            expected |= {"400", "413"} | ({"415", "422"} if staff else set())
        if "{" in path:
            expected |= {"404"}
        if missing := expected - statuses:
            problems.append(f"{method.upper()} {path}: {', '.join(sorted(missing))}")
    assert not problems, "undocumented statuses:\n" + "\n".join(problems)


def test_errors_are_described_by_one_schema(app: Flask) -> None:
    document = yaml.safe_load(app.test_client().get("/api/v1/openapi.yaml").get_data())
    for path, method, operation, statuses in _responses(document):
        for status in statuses:
            if (status.startswith("4") and status != "414") or status == "503":
                response = operation["responses"][status]
                if "$ref" in response:
                    response = document["components"]["responses"][response["$ref"].split("/")[-1]]
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
