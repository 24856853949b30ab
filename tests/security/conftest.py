"""Fixtures for the security tests: a world with every role, and every route of the app."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.security import routes


@functools.cache
def _collected_routes() -> tuple[tuple[str, str, str], ...]:
    return tuple(routes.routes_of(routes.collection_app()))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "route" in metafunc.fixturenames:
        collected = _collected_routes()
        metafunc.parametrize(
            "route", collected, ids=[f"{endpoint}-{method}" for endpoint, method, _r in collected]
        )


@pytest.fixture
def world(
    app: Flask, make_staff: Callable[..., Any], make_resident: Callable[..., str]
) -> routes.World:
    # The app under test must have the routes the tests were generated from.
    assert set(routes.routes_of(app)) == set(_collected_routes())
    return routes.make_world(app, make_staff, make_resident)
