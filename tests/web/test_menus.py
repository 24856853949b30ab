"""The menus reach every page a role may use: no page is found only by typing its address.

For each role, every page (a GET route without parameters that answers HTML) that
tests/security/routes.py lets the role use must be linked from the menu of the role's
start page, except the few listed below with the reason they are not menu items.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask

from citizen_card.models import Staff
from tests.conftest import login
from tests.security.routes import ACCESS

# Not menu items, each for a reason.
NOT_IN_MENUS = {
    "site.index": "the start page itself: it sends each role to its first page",
    "site.privacy": "linked from every page's footer",
    "places.index": "public; linked from every page's footer",
    "places.join": "public, for services; linked from the places pages",
    "places.join_sent": "the page after a request is sent",
    "places.new": "a form reached from the places list",
    "auth.login": "the login itself",
    "auth.login_code": "the second step of a login",
    "portal.my_card": "for residents (the public start page links it)",
    "verify.scan": "public, for local services",
    "verify.landing": "opened by a scanned QR code",
    "verify.landing_lower": "opened by a scanned QR code",
}
NOT_PAGES = re.compile(r"\.(json|csv|yaml|js|png|jpg|pdf|cwt)$|^/api/|^/\.well-known/|^/healthz$")


def _pages_for(app: Flask, role: str) -> set[str]:
    pages = set()
    for rule in app.url_map.iter_rules():
        allowed = ACCESS.get(rule.endpoint, frozenset())
        if (
            "GET" in (rule.methods or set())
            and not rule.arguments
            and role in allowed
            and not NOT_PAGES.search(rule.rule)
            and rule.endpoint not in NOT_IN_MENUS
            and not rule.endpoint.endswith("static")
        ):
            pages.add(rule.endpoint)
    return pages


@pytest.mark.parametrize("role", ["clerk", "admin", "auditor", "editor"])
def test_every_page_of_a_role_is_in_its_menu(
    app: Flask, make_staff: Callable[..., Staff], role: str
) -> None:
    client = app.test_client()
    login(client, make_staff(role))
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S)
    assert nav, "no main menu"
    adapter = app.url_map.bind("localhost")
    linked = {
        adapter.match(href, method="GET")[0] for href in re.findall(r'href="([^"]+)"', nav.group(1))
    }
    missing = _pages_for(app, role) - linked
    assert missing == set(), f"{role}: pages in no menu: {sorted(missing)}"
    # Each link opens for this role (none leads to a refusal).
    for href in re.findall(r'href="([^"]+)"', nav.group(1)):
        assert client.get(href).status_code == 200, href


def test_the_clerk_menu_has_the_a4_batch_and_the_admin_menu_the_card_design(
    app: Flask, make_staff: Callable[..., Staff]
) -> None:
    for role, link in (("clerk", 'href="/cards/print"'), ("admin", 'href="/admin/city"')):
        client = app.test_client()
        login(client, make_staff(role))
        assert link in client.get("/", follow_redirects=True).get_data(as_text=True)
