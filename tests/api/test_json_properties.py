"""Property: whatever body reaches a JSON route, the answer is the route's documented
success or a 4xx ``{"error", "message"}``, and a refused request writes nothing.

Bodies are drawn from the ways clients get JSON wrong: nesting far too deep, numbers
no one can hold, NaN and Infinity, strings of a hundred thousand characters, every
field given a value of the wrong type, bytes that are not UTF-8, and content types
that are not JSON. Bounded and derandomised: the same examples on every run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card, Resident
from citizen_card.services import audit, registry

EXAMPLES_PER_ROUTE = 40


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {resident} and {card} are filled in
    fields: tuple[str, ...]  # the fields it reads, to give each a value of the wrong type
    success: int  # the documented status for a body it accepts


RESIDENT_FIELDS = tuple(field.name for field in fields(registry.ResidentDetails))
ROUTES = {
    "create resident": Route("POST", "/api/v1/residents", (*RESIDENT_FIELDS, "evidence"), 201),
    "patch resident": Route(
        "PATCH", "/api/v1/residents/{resident}", (*RESIDENT_FIELDS, "evidence"), 200
    ),
    "search": Route("POST", "/api/v1/residents/search", ("q",), 200),
    "revoke": Route("POST", "/api/v1/cards/{card}/revoke", ("reason",), 200),
    "suspend": Route("POST", "/api/v1/cards/{card}/suspend", (), 200),
    "reinstate": Route("POST", "/api/v1/cards/{card}/reinstate", (), 200),
    "verify": Route("POST", "/api/v1/verify", ("qr",), 200),
}

JSON_TYPES = ["application/json", "application/json; charset=utf-8", "application/problem+json"]
OTHER_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def deep(draw: st.DrawFn) -> bytes:
    # Just past what the routes take, and past Python's recursion limit.
    shallow, past_the_limit = st.integers(9, 40), st.integers(900, 5_000)
    depth = draw(shallow | past_the_limit)
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    return opener * depth + b"1" + closer * depth


@st.composite
def huge_number(draw: st.DrawFn, field: str) -> bytes:
    number = draw(
        st.sampled_from(
            [
                b"9" * 4301,
                b"-" + b"1" * 6000,
                b"1e400",
                b"-1e999",
                b"NaN",
                b"Infinity",
                b"-Infinity",
                b"1" + b"0" * 300 + b".5",
            ]
        )
    )
    return b'{"' + field.encode() + b'": ' + number + b"}"


@st.composite
def long_string(draw: st.DrawFn, field: str) -> bytes:
    length = draw(st.integers(min_value=201, max_value=100_000))
    character = draw(st.sampled_from(["a", "é", "\u0627", "\U0001f600", "\\u0000", "\\ud800"]))
    return ('{"' + field + '": "' + character * length + '"}').encode()


@st.composite
def wrong_types(draw: st.DrawFn, fields: tuple[str, ...]) -> bytes:
    names = list(fields) or ["anything"]
    body = {
        name: draw(json_values)
        for name in draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    }
    return json.dumps(body).encode()


def bodies(route: Route) -> st.SearchStrategy[tuple[bytes, str]]:
    field = st.sampled_from(list(route.fields) or ["anything"])
    json_bodies = st.one_of(
        deep(),
        field.flatmap(huge_number),
        field.flatmap(long_string),
        wrong_types(route.fields),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=200),
        st.binary(max_size=40).map(lambda raw: b'{"q": "' + raw + b'"}'),
    )
    return st.one_of(
        st.tuples(json_bodies, st.sampled_from(JSON_TYPES)),
        st.tuples(json_bodies, st.sampled_from(OTHER_TYPES)),
    )


@dataclass
class State:
    residents: int
    cards: int
    events: int
    card_status: str


def state(app: Flask) -> State:
    with app.app_context():
        return State(
            db.session.scalar(select(func.count(Resident.id))) or 0,
            db.session.scalar(select(func.count(Card.id))) or 0,
            db.session.scalar(select(func.count(AuditEvent.id))) or 0,
            db.session.scalar(select(Card.status)) or "",
        )


def _is_error_body(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) in ({"error", "message"}, {"error", "message", "field"})
        and all(isinstance(body[key], str) and body[key] for key in body)
    )


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_any_body_gets_the_documented_answer_and_a_refusal_writes_nothing(
    app: Flask,
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    name: str,
) -> None:
    route = ROUTES[name]
    resident = make_resident()
    card = client.post(f"/api/v1/residents/{resident}/cards", headers=clerk_headers).json
    path = route.path.format(resident=resident, card=card["card_number"])

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(sent=bodies(route))
    # The bodies of the bug reports, tried first on every route.
    @example(sent=(b"[" * 1000 + b"]" * 1000, "application/json"))
    @example(sent=(b'{"qr": "x", "n": ' + b"9" * 5000 + b"}", "application/json"))
    @example(sent=(b'{"reason": NaN}', "application/json"))
    def check(sent: tuple[bytes, str]) -> None:
        body, content_type = sent
        before = state(app)
        headers = dict(clerk_headers) | ({"Content-Type": content_type} if content_type else {})
        response = client.open(path, method=route.method, data=body, headers=headers)
        status = response.status_code
        assert status == route.success or 400 <= status < 500, (status, body[:200])
        if status >= 400:
            assert response.mimetype == "application/json"
            assert _is_error_body(response.get_json(silent=True)), response.get_data()[:300]
            assert state(app) == before, (status, body[:200])

    check()
    with app.app_context():
        report = audit.verify_chain(db.session)
    assert report.ok, report.problem
