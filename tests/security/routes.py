"""Every route of the app, who may use it, and how to call it with real ids.

The tests in this folder walk ``app.url_map`` as it is when they run. A route that is not
classified here fails them with a message naming it: a new view is not public, or open
to every role, by accident.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

ANONYMOUS = "anonymous"
ROLES = ("admin", "clerk", "auditor", "editor")
PRINCIPALS = (ANONYMOUS, *ROLES)
PUBLIC = frozenset(PRINCIPALS)
STAFF = frozenset(ROLES)
CLERK = frozenset({"clerk"})
ADMIN = frozenset({"admin"})
# The places directory: editors keep it (with admins); they never see a resident.
EDITORS = frozenset({"editor", "admin"})
IGNORED_METHODS = {"HEAD", "OPTIONS"}

# endpoint -> who may use it. "anonymous" marks a public route (staff may use it too).
ACCESS: dict[str, frozenset[str]] = {
    # site
    "site.index": PUBLIC,  # the residents' start page; staff are sent to their home
    "site.healthz": PUBLIC,
    "site.set_language": PUBLIC,
    "site.privacy": PUBLIC,
    "static": PUBLIC,
    # log in and one's own account
    "auth.login": PUBLIC,
    "auth.login_code": PUBLIC,
    "auth.logout": PUBLIC,
    "auth.change_password": STAFF,
    "auth.second_factor": STAFF,
    # admin and audit
    "admin.staff_list": ADMIN,
    "admin.staff_create": ADMIN,
    "admin.staff_set_active": ADMIN,
    "admin.staff_reset": ADMIN,
    "admin.audit_log": frozenset({"admin", "auditor"}),
    "admin.searches": frozenset({"admin", "auditor"}),
    "admin.verifications": ADMIN,
    "admin.keys": ADMIN,
    "admin.keys_rotate": ADMIN,
    "admin.keys_revoke": ADMIN,
    "admin.settings": ADMIN,
    "cards.city_settings": ADMIN,
    "cards.city_preview": ADMIN,
    # counter pages: clerks only (admins and auditors never see residents)
    "residents.index": CLERK,
    "residents.new": CLERK,
    "residents.show": CLERK,
    "residents.photo": CLERK,
    "residents.thumbnail": CLERK,
    "residents.recall": CLERK,
    "residents.edit": CLERK,
    "residents.erase": CLERK,
    "residents.export": CLERK,
    "cards.issue": CLERK,
    "cards.show": CLERK,
    "cards.preview": CLERK,
    "cards.print_card": CLERK,
    "cards.renew": CLERK,
    "cards.replace": CLERK,
    "cards.download_code": CLERK,
    "cards.receipt": CLERK,
    "cards.suspend": CLERK,
    "cards.reinstate": CLERK,
    "cards.revoke": CLERK,
    "cards.hand_over": CLERK,
    "cards.confirm": CLERK,
    "cards.state": CLERK,
    "cards.batch": CLERK,
    "cards.batch_start": CLERK,
    "cards.batch_job": CLERK,
    "cards.batch_progress": CLERK,
    "cards.batch_pdf": CLERK,
    # the places directory: public pages, and the editors' pages
    "places.index": PUBLIC,
    "places.show": PUBLIC,
    "places.geojson": PUBLIC,
    "places.join": PUBLIC,
    "places.join_sent": PUBLIC,
    "places.manage": EDITORS,
    "places.new": EDITORS,
    "places.edit": EDITORS,
    "places.set_published": EDITORS,
    "places.export_csv": EDITORS,
    "places.import_csv": EDITORS,
    "places.requests": EDITORS,
    "places.decide": EDITORS,
    # residents' own download
    "portal.my_card": PUBLIC,
    "portal.download": PUBLIC,
    # API v1 (bearer tokens)
    "api_v1.openapi": PUBLIC,
    "api_v1.create_resident": CLERK,
    "api_v1.search_residents": CLERK,
    "api_v1.get_resident": CLERK,
    "api_v1.update_resident": CLERK,
    "api_v1.delete_resident": CLERK,
    "api_v1.put_photo": CLERK,
    "api_v1.export_resident": CLERK,
    "api_cards.issue_card": CLERK,
    "api_cards.get_card": CLERK,
    "api_cards.card_pdf": CLERK,
    "api_cards.revoke": CLERK,
    "api_cards.suspend": CLERK,
    "api_cards.reinstate": CLERK,
    "api_cards.renew": CLERK,
    "api_cards.replace": CLERK,
    "api_cards.hand_over": CLERK,
    # the verifying side: public by design, and it records nothing about who was checked
    "verify.api_verify": PUBLIC,
    "verify.landing": PUBLIC,
    "verify.landing_lower": PUBLIC,
    "verify.scan": PUBLIC,
    "verify.jwks": PUBLIC,
    "verify.issuer_metadata": PUBLIC,
    "verify.status_list": PUBLIC,
    "verify.service_worker": PUBLIC,
    "verify.static": PUBLIC,
}

# Endpoints classified above that may be missing from the app for now (the verify
# blueprint is registered by the factory once it is finished).
MAY_BE_ABSENT = frozenset(name for name in ACCESS if name.startswith("verify."))

# Answers that hold nothing personal and that caches may keep (public, not no-store).
CACHEABLE = frozenset(
    {
        "static",
        "verify.static",
        "verify.jwks",
        "verify.issuer_metadata",
        "verify.status_list",
        "verify.service_worker",
        "places.geojson",
    }
)

# (endpoint, method) -> error statuses an ALLOWED caller may get from the request made
# below, because of what the route itself does with that request (not because of access).
EXPECTED_ERRORS: dict[tuple[str, str], frozenset[int]] = {
    ("auth.login", "POST"): frozenset({401}),  # the test posts a wrong password
    ("auth.change_password", "POST"): frozenset({422}),  # a wrong current password
    ("auth.second_factor", "POST"): frozenset({422}),  # no code entered
    ("portal.download", "POST"): frozenset({400}),  # a wrong download code
    ("cards.batch_start", "POST"): frozenset({422}),  # an empty selection (no thread)
    ("cards.renew", "POST"): frozenset({409}),  # the card is far from expiry
    ("cards.receipt", "POST"): frozenset({400}),  # no download code given
    ("api_cards.hand_over", "POST"): frozenset({409}),  # the card is not printed yet
    ("cards.reinstate", "POST"): frozenset({409}),  # the card is not suspended
    ("cards.hand_over", "POST"): frozenset({409}),  # the card is not printed yet
    ("admin.keys_revoke", "POST"): frozenset({422}),  # not confirmed: the page again
    ("api_cards.reinstate", "POST"): frozenset({409}),
}

# Routes that send everybody to the login page by design (not an access decision).
LOGIN_REDIRECT_BY_DESIGN = frozenset(
    {("auth.logout", "POST"), ("auth.login_code", "GET"), ("auth.login_code", "POST")}
)


def route_methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - IGNORED_METHODS)


def routes_of(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every route, in a stable order."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in route_methods(rule):
            found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


def unclassified(app: Flask) -> list[str]:
    return sorted({endpoint for endpoint, _m, _r in routes_of(app)} - set(ACCESS))


def collection_app() -> Flask:
    """An app built only to list its routes when tests are collected."""
    from citizen_card import create_app
    from tests.conftest import make_settings

    instance = Path(tempfile.mkdtemp(prefix="routes-")) / "instance"
    return create_app(make_settings(instance))


def is_api(path: str) -> bool:
    return path.startswith("/api/")


@dataclass
class World:
    """An app with one logged-in client and one API token per role, and real targets."""

    app: Flask
    clients: dict[str, FlaskClient]
    tokens: dict[str, str]
    staff_ids: dict[str, int]
    make_resident: Callable[..., str]
    make_staff: Callable[..., Any]
    csrf: dict[str, str] = field(default_factory=dict)

    def client(self, principal: str) -> FlaskClient:
        return self.clients[principal]

    def csrf_token(self, principal: str) -> str:
        if principal not in self.csrf:
            from tests.conftest import csrf_token

            self.csrf[principal] = csrf_token(self.clients[principal], "/login")
        return self.csrf[principal]

    def issue_card(self) -> tuple[str, int]:
        """A fresh resident with a current card: (formatted card number, status list id)."""
        from citizen_card.context import app_context
        from citizen_card.extensions import db
        from citizen_card.services import issuance, registry
        from verify.cardnumber import format_card_number

        public_id = self.make_resident(given_names="Card", family_names="Holder")
        with self.app.app_context():
            ctx = app_context()
            resident = registry.get(db.session, public_id)
            issued = issuance.issue(
                db.session, resident, settings=ctx.settings, actor=None, now=ctx.now()
            )
            db.session.commit()
            return format_card_number(issued.card.number), issued.card.status_list_id

    def place_and_request(self) -> tuple[int, str, int]:
        """A published place (id, ref) and a pending request to list a service."""
        from citizen_card.context import app_context
        from citizen_card.extensions import db
        from citizen_card.services import place_requests, places

        with self.app.app_context():
            ctx = app_context()
            languages = places.Languages.from_settings(ctx.settings)
            values = places.validate(
                {"category": "library", "name_en": "Central Library", "address": "1 Main St"},
                languages,
            )
            place = places.create_place(
                db.session, values, languages=languages, actor=None, now=ctx.now(), published=True
            )
            request = place_requests.submit(
                db.session,
                JOIN_REQUEST,
                language="en",
                languages=languages,
                now=ctx.now(),
            )
            db.session.commit()
            return place.id, place.ref, request.id

    def signing_kid(self) -> str:
        from citizen_card.extensions import db
        from citizen_card.services import keyring

        with self.app.app_context():
            key = keyring.active_key(db.session)
            assert key is not None
            return key.kid

    def print_job(self, role: str) -> str:
        """A finished batch print job owned by ``role``'s account."""
        from citizen_card.context import app_context
        from citizen_card.extensions import db
        from citizen_card.services.print_jobs import PrintJob

        job_id = os.urandom(16).hex()
        with self.app.app_context():
            jobs = app_context().print_jobs
            jobs.store.save(PrintJob(job_id, self.staff_ids[role], "running", total=1, done=0))
            jobs.store.finish(db.session, job_id, jobs.seal_sheets(job_id, b"%PDF-1.4\n"))
            db.session.commit()
        return job_id


@dataclass
class Targets:
    """Real values for the parameters of every rule, made fresh for one route."""

    public_id: str
    card_number: str
    list_id: int
    staff_id: int
    job_id: str
    place_id: int
    place_ref: str
    request_id: int
    kid: str = ""

    def value(self, endpoint: str, name: str) -> Any:
        if endpoint in ("static", "verify.static") and name == "filename":
            return "css/app.css" if endpoint == "static" else "verify.css"
        values = {
            "public_id": self.public_id,
            "card_number": self.card_number,
            "list_id": self.list_id,
            "staff_id": self.staff_id,
            "job_id": self.job_id,
            "face": "front",
            "action": "suspend",
            "place_id": self.place_id,
            "key": self.place_ref,
            "request_id": self.request_id,
            "kid": self.kid,
        }
        if name not in values:
            raise AssertionError(
                f"tests/security/routes.py has no value for <{name}> of {endpoint}: add one"
            )
        return values[name]


def make_targets(world: World) -> Targets:
    card_number, list_id = world.issue_card()
    target = world.make_staff("clerk")
    place_id, place_ref, request_id = world.place_and_request()
    return Targets(
        public_id=world.make_resident(),
        card_number=card_number,
        list_id=list_id,
        staff_id=target.id,
        job_id=world.print_job("clerk"),
        place_id=place_id,
        place_ref=place_ref,
        request_id=request_id,
        kid=world.signing_kid(),
    )


def url_for_rule(app: Flask, endpoint: str, targets: Targets) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {name: targets.value(endpoint, name) for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


JOIN_REQUEST = {
    "name": "Community Sports Hall",
    "category": "sport",
    "benefit": "Free entry on weekdays.",
    "contact_name": "Ana Exemplo",
    "contact_email": "ana@example.org",
}
PLACE_FORM = {
    "category": "culture",
    "name_en": "City Museum",
    "name_fr": "Musée de la ville",
    "benefit_en": "Free entry.",
    "address": "2 Museum Square",
    "latitude": "38.71",
    "longitude": "-9.14",
}


def request_body(endpoint: str, method: str, targets: Targets) -> dict[str, Any]:
    """What a real caller sends to this route (form fields, JSON or a photo)."""
    import io

    from tests.conftest import photo_bytes

    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("site.set_language", "POST"): {"data": {"lang": "fr", "next": "/my-card"}},
        ("auth.login", "POST"): {"data": {"username": "nobody", "password": "wrong-password"}},
        ("auth.login_code", "POST"): {"data": {"code": "000000"}},
        ("auth.change_password", "POST"): {
            "data": {
                "current_password": "not the password",
                "new_password": "a new long passphrase",
                "confirm_password": "a new long passphrase",
            }
        },
        ("admin.staff_create", "POST"): {
            "data": {"username": "new-" + os.urandom(3).hex(), "role": "clerk"}
        },
        ("admin.staff_set_active", "POST"): {"data": {"active": "0"}},
        ("cards.city_settings", "POST"): {"data": {"card_title": "Local citizenship card"}},
        ("residents.new", "POST"): {
            "data": {
                "given_names": "Ana",
                "family_names": "Silva",
                "evidence": ["identity", "residence"],
            }
        },
        ("residents.edit", "POST"): {
            "data": {
                "given_names": "María José",
                "family_names": "García López",
                "used_name": "Majo",
                "evidence": ["identity", "residence"],
            }
        },
        ("residents.erase", "POST"): {"data": {"confirm": "erase"}},
        ("cards.replace", "POST"): {"data": {"reason": "lost", "confirm": "1"}},
        ("cards.revoke", "POST"): {"data": {"reason": "lost", "confirm": "1"}},
        ("cards.suspend", "POST"): {"data": {"confirm": "1"}},
        ("cards.renew", "POST"): {"data": {"confirm": "1"}},
        ("cards.batch_start", "POST"): {"data": {}},
        ("portal.download", "POST"): {
            "data": {"card_number": targets.card_number, "code": "AAAA-AAAA-AAAA"}
        },
        ("api_v1.create_resident", "POST"): {
            "json": {"given_names": "Ana", "family_names": "Silva", "evidence": ["identity"]}
        },
        ("api_v1.search_residents", "POST"): {"json": {"q": "García"}},
        ("api_v1.update_resident", "PATCH"): {"json": {"used_name": "Majo"}},
        ("api_v1.put_photo", "PUT"): {"data": photo_bytes(), "content_type": "image/jpeg"},
        ("api_cards.revoke", "POST"): {"json": {"reason": "lost"}},
        ("api_cards.suspend", "POST"): {"json": {}},
        ("api_cards.replace", "POST"): {"json": {"reason": "damaged"}},
        ("api_cards.renew", "POST"): {"json": {}},
        ("api_cards.hand_over", "POST"): {"json": {}},
        ("api_cards.reinstate", "POST"): {"json": {}},
        ("verify.api_verify", "POST"): {"json": {"qr": "HTTPS://VERIFY.EXAMPLE/V#AAAA"}},
        ("places.join", "POST"): {"data": JOIN_REQUEST},
        ("places.new", "POST"): {"data": PLACE_FORM},
        ("places.edit", "POST"): {"data": PLACE_FORM},
        ("places.set_published", "POST"): {"data": {"published": "0"}},
        ("places.decide", "POST"): {"data": {"decision": "accept"}},
        ("places.import_csv", "POST"): {
            "data": {
                "file": (
                    io.BytesIO(b"ref,category,name_en\nmuseum-2,culture,Second Museum\n"),
                    "places.csv",
                )
            }
        },
    }
    return dict(bodies.get((endpoint, method), {}))


def call(
    world: World, endpoint: str, method: str, principal: str, targets: Targets
) -> TestResponse:
    """Make the request a ``principal`` would make: pages with the session cookie and a
    valid CSRF token, the API with the principal's bearer token."""
    path = url_for_rule(world.app, endpoint, targets)
    kwargs = request_body(endpoint, method, targets)
    headers: dict[str, str] = {}
    if is_api(path):
        if principal != ANONYMOUS:
            headers["Authorization"] = f"Bearer {world.tokens[principal]}"
    elif method not in ("GET", "HEAD"):
        kwargs.setdefault("data", {})
        kwargs["data"] = dict(kwargs["data"]) | {"csrf_token": world.csrf_token(principal)}
    client = world.client(principal)
    response = client.open(path, method=method, headers=headers, **kwargs)
    # Read and close now: a streamed file left open is a ResourceWarning (an error here).
    response.get_data()
    response.close()
    return response


def redirects_to_login(response: TestResponse) -> bool:
    location = response.headers.get("Location", "")
    return response.status_code == 302 and re.match(r"^(https?://[^/]+)?/login(\?|$)", location)


def make_world(
    app: Flask, make_staff: Callable[..., Any], make_resident: Callable[..., str]
) -> World:
    from citizen_card.extensions import db
    from citizen_card.models import Staff
    from citizen_card.services import accounts
    from tests.conftest import login

    clients = {ANONYMOUS: app.test_client()}
    tokens: dict[str, str] = {}
    staff_ids: dict[str, int] = {}
    for role in ROLES:
        staff = make_staff(role)
        staff_ids[role] = staff.id
        clients[role] = app.test_client()
        login(clients[role], staff)
        with app.app_context():
            tokens[role] = accounts.create_api_token(
                db.session,
                db.session.get(Staff, staff.id),
                now=datetime.now(UTC),
                actor=None,
            )
            db.session.commit()
    return World(app, clients, tokens, staff_ids, make_resident, make_staff)
