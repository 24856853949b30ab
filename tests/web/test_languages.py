"""The right language for each kind of person, on SQLite and PostgreSQL.

Verifiers and residents: ``?lang=``, then the choice kept in their own browser, then
Accept-Language, then the city's default. Staff: their account's language, else the
city's default. Parametrised over the catalogues present, so each new one is covered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from citizen_card.extensions import db
from citizen_card.models import AuditEvent, CitySetting, Staff
from citizen_card.paths import TRANSLATIONS
from tests.conftest import csrf_token, login
from verify.language import SOURCE, catalogued
from verify.web import StaticVerifierBackend, create_verifier_app

OFFERED = catalogued(TRANSLATIONS, compiled=True)
# Every catalogue but English, and one other language to switch to from each.
OTHERS = [code for code in OFFERED if code != SOURCE] or pytest.skip(
    "no catalogue compiled: run pybabel compile", allow_module_level=True
)


def _in(app: Flask, code: str, message: str) -> str:
    with app.test_request_context(), force_locale(code):
        return str(_(message))


def _lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', page)
    assert match, page[:200]
    return match.group(1)


def test_the_service_offers_each_catalogue_present(app: Flask, client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    offered = re.findall(r'<option value="([a-z]{2})" lang="', page)
    assert tuple(offered) == OFFERED
    assert app.config["VERIFY_LANGUAGES"] == OFFERED


# --- verifiers -----------------------------------------------------------------------


@pytest.mark.parametrize("code", OTHERS)
@pytest.mark.parametrize("path", ["/v", "/V", "/scan"])
def test_verify_pages_follow_the_browser_then_the_switch(
    app: Flask, client: FlaskClient, path: str, code: str
) -> None:
    page = client.get(path, headers={"Accept-Language": f"{code};q=1, en;q=0.5"})
    assert _lang(page.get_data(as_text=True)) == code
    assert page.headers["Content-Language"] == code
    assert "Accept-Language" in page.headers["Vary"]
    # The switch: one plain link per language, the current one marked.
    html = page.get_data(as_text=True)
    for other in OFFERED:
        assert f'href="{path}?lang={other}"' in html
    assert re.search(rf'lang="{code}" hreflang="{code}" aria-current="true"', html)

    switched = client.get(f"{path}?lang=en", headers={"Accept-Language": code})
    assert _lang(switched.get_data(as_text=True)) == "en"
    cookie = switched.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # Kept by the browser: the next visit without ?lang= stays English.
    again = client.get(path, headers={"Accept-Language": code})
    assert _lang(again.get_data(as_text=True)) == "en"
    assert "Set-Cookie" not in again.headers


def test_an_unknown_language_changes_nothing(client: FlaskClient) -> None:
    page = client.get("/V?lang=xx", headers={"Accept-Language": OTHERS[0]})
    assert _lang(page.get_data(as_text=True)) == OTHERS[0]
    assert "Set-Cookie" not in page.headers
    nothing = client.get("/V", headers={"Accept-Language": "tlh"})
    assert _lang(nothing.get_data(as_text=True)) == "en"  # the city's default


def test_the_city_default_answers_a_browser_the_service_cannot_speak(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    admin = make_staff("admin")
    login(client, admin)
    token = csrf_token(client, "/admin/city")
    response = client.post("/admin/city", data={"default_language": OTHERS[0], "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/city")})
    stranger = FlaskClient(app, app.response_class)
    for path in ("/V", "/my-card", "/login"):
        page = stranger.get(path, headers={"Accept-Language": "tlh"})
        assert _lang(page.get_data(as_text=True)) == OTHERS[0], path


@pytest.mark.parametrize("code", OTHERS)
def test_the_stand_alone_verifier_speaks_each_catalogue(tmp_path: Path, code: str) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.e2e.conftest import jwks_document

    jwks = tmp_path / "jwks.json"
    key = Ed25519PrivateKey.from_private_bytes(b"\x05" * 32)
    jwks.write_text(json.dumps(jwks_document(key, "LIS", "Lisboa", "https://v.example")))
    backend = StaticVerifierBackend([jwks], tmp_path / "status")
    client = create_verifier_app(backend).test_client()
    page = client.get("/scan", headers={"Accept-Language": code})
    html = page.get_data(as_text=True)
    assert _lang(html) == code
    assert page.headers["Content-Language"] == code
    assert "Card scanner" not in html  # translated
    switched = client.get("/scan?lang=en", headers={"Accept-Language": code})
    assert "Card scanner" in switched.get_data(as_text=True)
    assert (
        client.get("/scan", headers={"Accept-Language": code}).headers["Content-Language"] == "en"
    )
    # Without catalogues it is English only, and shows no switch.
    plain = create_verifier_app(backend, translations=None).test_client()
    english = plain.get("/scan", headers={"Accept-Language": code}).get_data(as_text=True)
    assert _lang(english) == "en" and "language-switch" not in english


# --- residents -----------------------------------------------------------------------


@pytest.mark.parametrize("code", OTHERS)
@pytest.mark.parametrize("path", ["/my-card", "/privacy"])
def test_resident_pages_follow_the_browser_and_the_address(
    app: Flask, client: FlaskClient, path: str, code: str
) -> None:
    with app.app_context():
        events_before = len(db.session.scalars(select(AuditEvent)).all())
    page = client.get(path, headers={"Accept-Language": code}).get_data(as_text=True)
    assert _lang(page) == code
    # The receipt's link: ?lang= opens the page in the resident's language whatever the
    # browser says, and the browser (not the service) keeps it for the next page.
    linked = client.get(f"{path}?lang=en", headers={"Accept-Language": code})
    assert _lang(linked.get_data(as_text=True)) == "en"
    assert linked.headers["Set-Cookie"].startswith("lang=en;")
    with app.app_context():
        # Nothing about the visitor's language is written anywhere.
        assert len(db.session.scalars(select(AuditEvent)).all()) == events_before


def test_a_resident_page_follows_the_browser_even_at_a_logged_in_counter(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    clerk = make_staff("clerk")
    login(client, clerk)
    code = OTHERS[0]
    page = client.get("/my-card", headers={"Accept-Language": code}).get_data(as_text=True)
    assert _lang(page) == code
    staff_page = client.get("/residents/", headers={"Accept-Language": code})
    assert _lang(staff_page.get_data(as_text=True)) == "en"  # the account's (city) default


# --- staff ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", OTHERS)
def test_staff_pages_follow_the_account_not_the_browser(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff], code: str
) -> None:
    clerk = make_staff("clerk")
    login(client, clerk)
    heading = _in(app, code, "Find a resident")
    page = client.get("/residents/", headers={"Accept-Language": code}).get_data(as_text=True)
    assert _lang(page) == "en" and "Find a resident" in page

    token = csrf_token(client, "/account/password")
    response = client.post(
        "/language", data={"lang": code, "next": "/account/password", "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/password")
    assert "Set-Cookie" not in response.headers or "lang=" not in response.headers["Set-Cookie"]
    page = client.get("/residents/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _lang(page) == code and heading in page
    form = client.get("/account/password").get_data(as_text=True)
    assert re.search(rf'<option value="{code}" lang="{code}" selected>', form)
    with app.app_context():
        staff = db.session.get(Staff, clerk.id)
        assert staff is not None and staff.language == code
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "staff.language")
        ).all()
        assert [event.target_ref for event in events] == [str(clerk.id)]

    # Back to the city's default, which the city sets.
    client.post("/language", data={"lang": "", "csrf_token": token})
    with app.app_context():
        db.session.add(CitySetting(key="default_language", value=code, updated_at=_now(app)))
        db.session.commit()
        staff = db.session.get(Staff, clerk.id)
        assert staff is not None and staff.language is None
    page = client.get("/residents/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _lang(page) == code


def _now(app: Flask) -> object:
    from citizen_card.context import app_context

    with app.app_context():
        return app_context().now()


def test_a_language_the_service_does_not_offer_is_refused(
    client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    login(client, make_staff("clerk"))
    token = csrf_token(client, "/account/password")
    response = client.post("/language", data={"lang": "tlh", "csrf_token": token})
    assert response.status_code == 422


def test_the_city_chooses_one_or_two_label_languages(
    app: Flask, client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    login(client, make_staff("admin"))
    token = csrf_token(client, "/admin/city")
    saved = client.post(
        "/admin/city",
        data={"label_language_first": "pt", "label_language_second": "en", "csrf_token": token},
    )
    assert saved.status_code == 302
    with app.app_context():
        row = db.session.get(CitySetting, "label_languages")
        assert row is not None and row.value == "pt,en"
    page = client.get("/admin/city").get_data(as_text=True)
    assert re.search(r'<option value="pt" lang="pt" selected>', page)
    for wrong in ({"label_languages": "pt,en,fr"}, {"label_languages": "xx"}):
        refused = client.post("/admin/city", data={**wrong, "csrf_token": token})
        assert refused.status_code == 422
    with app.app_context():
        row = db.session.get(CitySetting, "label_languages")
        assert row is not None and row.value == "pt,en"
