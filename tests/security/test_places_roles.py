"""Roles around the places directory: an editor never reaches a resident or a card, and
only editors and admins change places. (test_authorization.py walks every route for
every role; these tests look closer at what a refused request leaves behind.)"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import func, select

from citizen_card.extensions import db
from citizen_card.models import Place, PlaceJoinRequest
from tests.conftest import csrf_token, login
from tests.security import routes


def test_an_editor_cannot_open_a_resident_or_a_card(world: routes.World) -> None:
    card_number, _list_id = world.issue_card()
    public_id = world.make_resident()
    editor = world.client("editor")
    api = {"Authorization": f"Bearer {world.tokens['editor']}"}
    pages = [
        "/residents/",
        "/residents/new",
        f"/residents/{public_id}",
        f"/residents/{public_id}/photo.jpg",
        f"/residents/{public_id}/edit",
        f"/residents/{public_id}/export.json",
        f"/cards/{card_number}",
        f"/cards/{card_number}/front.png",
        "/cards/print",
    ]
    for path in pages:
        response = editor.get(path)
        assert response.status_code == 403, path
        assert "García" not in response.get_data(as_text=True)
    searched = editor.post(
        "/residents/", data={"q": "García", "csrf_token": world.csrf_token("editor")}
    )
    assert searched.status_code == 403
    for path in (f"/api/v1/residents/{public_id}", f"/api/v1/cards/{card_number}"):
        response = world.app.test_client().get(path, headers=api)
        assert response.status_code == 403, path
        assert response.get_json()["error"] == "forbidden"
    # Nor the admin's pages: staff accounts and the audit log are not places.
    for path in ("/admin/staff", "/admin/audit", "/admin/city"):
        assert editor.get(path).status_code == 403, path


def test_an_editor_logs_in_to_the_places(app: Flask, make_staff: Callable[..., object]) -> None:
    client = app.test_client()
    login(client, make_staff("editor"))  # type: ignore[arg-type]
    start = client.get("/")
    assert start.status_code == 302
    assert start.headers["Location"].endswith("/manage/places")
    page = client.get("/manage/places").get_data(as_text=True)
    assert "Places that accept the card" in page
    assert 'href="/residents/"' not in page  # no counter link in the navigation


def test_clerks_and_auditors_cannot_change_places(
    world: routes.World, make_place: Callable[..., int]
) -> None:
    place_id = make_place(published=True)
    _place_id, _ref, request_id = world.place_and_request()
    for role in ("clerk", "auditor"):
        client = world.client(role)
        token = world.csrf_token(role)
        attempts = [
            ("/manage/places/new", routes.PLACE_FORM),
            (f"/manage/places/{place_id}", routes.PLACE_FORM),
            (f"/manage/places/{place_id}/published", {"published": "0"}),
            (f"/manage/places/requests/{request_id}", {"decision": "accept"}),
        ]
        for path, form in attempts:
            response = client.post(path, data=form | {"csrf_token": token})
            assert response.status_code == 403, (role, path)
        for path in ("/manage/places", "/manage/places.csv", "/manage/places/requests"):
            assert client.get(path).status_code == 403, (role, path)
    with world.app.app_context():
        place = db.session.get(Place, place_id)
        assert place is not None and place.published
        assert db.session.scalar(select(func.count(Place.id))) == 2
        request = db.session.get(PlaceJoinRequest, request_id)
        assert request is not None and request.status == "pending"
        assert request.contact_email == "ana@example.org"


def test_the_admin_creates_an_editor_account(world: routes.World) -> None:
    admin = world.client("admin")
    page = admin.get("/admin/staff").get_data(as_text=True)
    assert '<option value="editor">' in page
    response = admin.post(
        "/admin/staff",
        data={
            "username": "places-editor",
            "role": "editor",
            "csrf_token": csrf_token(admin, "/admin/staff"),
        },
    )
    assert response.status_code == 200
    assert "One-time password for places-editor" in response.get_data(as_text=True)
    from citizen_card.models import Staff

    with world.app.app_context():
        staff = db.session.execute(
            select(Staff).where(Staff.username == "places-editor")
        ).scalar_one()
        assert staff.role == "editor"
