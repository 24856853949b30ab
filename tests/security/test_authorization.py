"""Who may use which route: every route of ``app.url_map``, for every role and no login.

A route not allowed to a caller must say so the same way everywhere: a page sends an
anonymous visitor to the login page (302), the API answers 401 without a valid bearer
token, and a logged-in caller with the wrong role gets 403. A caller who is allowed gets
what the route does with the request (2xx or 3xx, or the error listed for that request in
``routes.EXPECTED_ERRORS``), never 401/403, never a trip to the login page, never a 500.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import login
from tests.security import routes
from tests.security.routes import ANONYMOUS, PRINCIPALS


def test_every_route_is_classified(app: Flask) -> None:
    missing = routes.unclassified(app)
    assert not missing, (
        "routes with no access rule in tests/security/routes.py ACCESS: "
        + ", ".join(missing)
        + " (say who may use them)"
    )
    present = {endpoint for endpoint, _m, _r in routes.routes_of(app)}
    stale = sorted(set(routes.ACCESS) - present - routes.MAY_BE_ABSENT)
    assert not stale, f"ACCESS names endpoints the app no longer has: {', '.join(stale)}"


def _order(allowed: frozenset[str]) -> list[str]:
    # Callers who are refused first: a refused request must change nothing, and the
    # allowed one (which may erase or revoke) comes last.
    return [p for p in PRINCIPALS if p not in allowed] + [p for p in PRINCIPALS if p in allowed]


def test_access_matrix(route: tuple[str, str, str], world: routes.World) -> None:
    endpoint, method, rule = route
    if endpoint not in routes.ACCESS:
        pytest.fail(f"{endpoint} ({method} {rule}) is not classified in tests/security/routes.py")
    allowed = routes.ACCESS[endpoint]
    targets = routes.make_targets(world)
    problems = []
    for principal in _order(allowed):
        response = routes.call(world, endpoint, method, principal, targets)
        status = response.status_code
        path = routes.url_for_rule(world.app, endpoint, targets)
        where = f"{method} {path} as {principal}: {status} {response.headers.get('Location', '')}"
        if principal in allowed:
            expected_errors = routes.EXPECTED_ERRORS.get((endpoint, method), frozenset())
            login_by_design = (endpoint, method) in routes.LOGIN_REDIRECT_BY_DESIGN
            if status in (401, 403) and status not in expected_errors:
                problems.append(f"allowed but refused: {where}")
            elif routes.redirects_to_login(response) and not login_by_design:
                problems.append(f"allowed but sent to log in: {where}")
            elif status >= 400 and status not in expected_errors:
                problems.append(f"allowed, unexpected error: {where}")
        elif principal == ANONYMOUS and routes.is_api(path):
            if status != 401 or (response.get_json(silent=True) or {}).get("error") != (
                "unauthorized"
            ):
                problems.append(f"expected 401 JSON: {where}")
        elif principal == ANONYMOUS:
            if not routes.redirects_to_login(response):
                problems.append(f"expected 302 to /login: {where}")
        elif status != 403:
            problems.append(f"expected 403: {where}")
    assert not problems, "\n".join(problems)


def test_page_posts_without_csrf_token_are_refused(world: routes.World) -> None:
    """Every state-changing page (not the bearer-token API) needs the form's CSRF token."""
    targets = routes.make_targets(world)
    refused = []
    for endpoint, method, _rule in routes.routes_of(world.app):
        path = routes.url_for_rule(world.app, endpoint, targets)
        if method == "GET" or routes.is_api(path):
            continue
        response = world.client("clerk").open(
            path, method=method, **routes.request_body(endpoint, method, targets)
        )
        if response.status_code != 400:
            refused.append(f"{method} {path}: {response.status_code}")
    assert not refused, "accepted without a CSRF token:\n" + "\n".join(refused)


def test_api_ignores_the_session_cookie(world: routes.World) -> None:
    """The API is exempt from CSRF because only a bearer token opens it, never a cookie."""
    public_id = world.make_resident()
    clerk = world.client("clerk")
    assert clerk.get(f"/residents/{public_id}").status_code == 200  # the cookie works here
    response = clerk.get(f"/api/v1/residents/{public_id}")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert "García" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic Y2xlcms6cGFzcw==", "Bearer cc_" + "A" * 43, "Bearer x" * 50],
)
def test_api_refuses_missing_or_wrong_tokens(client: FlaskClient, header: str) -> None:
    response = client.post(
        "/api/v1/residents/search", json={"q": "García"}, headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert response.get_json() == {
        "error": "unauthorized",
        "message": "A valid bearer token is required.",
    }


def test_resident_ids_are_random_and_unguessable(
    make_resident: Callable[..., str], clerk_client: FlaskClient, clerk_headers: dict[str, str]
) -> None:
    ids = [make_resident(photo=False) for _ in range(12)]
    assert all(re.fullmatch(r"[0-9a-f]{16}", public_id) for public_id in ids), ids
    assert len(set(ids)) == len(ids)
    numbers = [int(public_id, 16) for public_id in ids]
    steps = {later - earlier for earlier, later in itertools.pairwise(numbers)}
    # Sequential or evenly spaced ids would let one id lead to the next.
    assert len(steps) == len(numbers) - 1, "resident ids follow a pattern"
    assert numbers != sorted(numbers)
    for guess in (secrets.token_hex(8), f"{numbers[0] + 1:016x}", "1", "../etc/passwd"):
        assert clerk_client.get(f"/residents/{guess}").status_code == 404
        api = clerk_client.get(f"/api/v1/residents/{guess}", headers=clerk_headers)
        assert api.status_code == 404
        assert api.get_json()["error"] in ("resident_not_found", "not_found")


def test_guessed_card_numbers_fail_cleanly(
    world: routes.World, clerk_headers: dict[str, str]
) -> None:
    from verify.cardnumber import ALPHABET

    card_number, _list_id = world.issue_card()
    compact = card_number.replace("-", "")
    # The same number with a different check symbol, a random number, and garbage.
    wrong_check = compact[:-1] + next(c for c in ALPHABET if c != compact[-1])
    random_number = "".join(secrets.choice(ALPHABET) for _ in range(12))
    guesses = [wrong_check, random_number, "0000-0000-0000", "../../etc", "K" * 200]
    clerk = world.client("clerk")
    assert clerk.get(f"/cards/{card_number}").status_code == 200
    for guess in guesses:
        page = clerk.get(f"/cards/{guess}")
        assert page.status_code == 404, (guess, page.status_code)
        api = clerk.get(f"/api/v1/cards/{guess}", headers=clerk_headers)
        assert api.status_code == 404, (guess, api.status_code)
        assert api.get_json()["error"] in ("not_found", "card_not_found")


def test_print_jobs_of_another_clerk_are_not_found(world: routes.World) -> None:
    own = world.print_job("clerk")
    other_clerk = world.make_staff("clerk")
    other = world.app.test_client()
    login(other, other_clerk)
    for suffix in ("", "/progress", "/sheets.pdf"):
        assert other.get(f"/cards/print/{own}{suffix}").status_code == 404
    assert world.client("clerk").get(f"/cards/print/{own}/progress").status_code == 200


def test_api_token_of_a_disabled_account_stops_working(
    world: routes.World, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()
    headers = {"Authorization": f"Bearer {world.tokens['clerk']}"}
    clerk = world.app.test_client()
    assert clerk.get(f"/api/v1/residents/{public_id}", headers=headers).status_code == 200

    admin = world.client("admin")
    response = admin.post(
        f"/admin/staff/{world.staff_ids['clerk']}/active",
        data={"active": "0", "csrf_token": world.csrf_token("admin")},
    )
    assert response.status_code == 302

    refused = clerk.get(f"/api/v1/residents/{public_id}", headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "unauthorized"
    # Enabling the account again does not bring back a token revoked by disabling it.
    admin.post(
        f"/admin/staff/{world.staff_ids['clerk']}/active",
        data={"active": "1", "csrf_token": world.csrf_token("admin")},
    )
    assert clerk.get(f"/api/v1/residents/{public_id}", headers=headers).status_code == 401
    # And the disabled clerk's page session ended too.
    assert routes.redirects_to_login(world.client("clerk").get("/residents/"))


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_cannot_read_residents_through_the_api(
    world: routes.World, role: str
) -> None:
    public_id = world.make_resident()
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    client = world.app.test_client()
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/api/v1/residents/{public_id}", {}),
        ("POST", "/api/v1/residents/search", {"json": {"q": "García"}}),
        ("PATCH", f"/api/v1/residents/{public_id}", {"json": {"used_name": "x"}}),
        ("DELETE", f"/api/v1/residents/{public_id}", {}),
    ]
    for method, path, kwargs in requests:
        response = client.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code == 403, (method, path)
        assert response.get_json()["error"] == "forbidden"
        body = response.get_data(as_text=True)
        assert "García" not in body and "María" not in body
    # The refused DELETE erased nothing.
    clerk = {"Authorization": f"Bearer {world.tokens['clerk']}"}
    assert client.get(f"/api/v1/residents/{public_id}", headers=clerk).status_code == 200
