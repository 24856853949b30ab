"""The OpenAPI document is valid and documents every API route, and nothing else."""

from __future__ import annotations

import re

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
