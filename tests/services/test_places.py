"""The places service: what it accepts, how texts fall back between languages, search,
references, and that every change is audited without any of its values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Place
from citizen_card.services import audit, places
from citizen_card.services.errors import Conflict
from citizen_card.services.places import Languages, PlaceInvalid

LANGUAGES = Languages("en", ("en", "fr"))
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _problems(raw: dict[str, str]) -> dict[str, str]:
    with pytest.raises(PlaceInvalid) as caught:
        places.validate(raw, LANGUAGES)
    return {p.field or "": p.code for p in caught.value.problems}


def test_validation_names_every_wrong_field_at_once() -> None:
    problems = _problems(
        {
            "category": "casino",
            "latitude": "91",
            "longitude": "abc",
            "website": "javascript:alert(1)",
            "phone": "call me",
            "ref": "12345",
            "name_fr": "x" * 151,
        }
    )
    assert problems == {
        "ref": "invalid",
        "category": "invalid",
        "name_fr": "too_long",
        "name_en": "required",
        "latitude": "out_of_range",
        "longitude": "out_of_range",
        "phone": "invalid",
        "website": "invalid",
    }


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [("38.7", "", "longitude"), ("", "-9.1", "latitude"), ("-90.0001", "0", "latitude")],
)
def test_coordinates_come_in_range_and_in_pairs(latitude: str, longitude: str, field: str) -> None:
    raw = {"category": "food", "name_en": "Soup kitchen", "latitude": latitude}
    assert field in _problems(raw | {"longitude": longitude})


def test_values_are_cleaned() -> None:
    values = places.validate(
        {
            "ref": "Central-Library",
            "category": "library",
            "name_en": "  Central \t Library ",
            "benefit_en": "Free entry.\r\n\r\n\r\n\r\nFree computers.",
            "latitude": "38,71394449",
            "longitude": "-9.1394",
            "website": "www.library.example",
            "phone": "+351 21 000 00 00",
        },
        LANGUAGES,
    )
    assert values.ref == "central-library"
    assert values.texts["en"].name == "Central Library"
    assert values.texts["en"].benefit == "Free entry.\n\nFree computers."
    assert (values.latitude, values.longitude) == (38.713944, -9.1394)
    assert values.website == "https://www.library.example"
    assert "fr" not in values.texts  # no French text: it falls back, nothing is stored


def test_the_database_refuses_what_validation_refuses(
    app: Flask, make_place: Callable[..., int]
) -> None:
    place_id = make_place()
    bad = {
        "category = 'casino'",
        "latitude = 95, longitude = 0",
        "longitude = 200, latitude = 0",
        "latitude = 10, longitude = NULL",
        "website = 'javascript:alert(1)'",
    }
    with app.app_context():
        for assignment in bad:
            with pytest.raises(IntegrityError):
                db.session.execute(
                    text(f"UPDATE place SET {assignment} WHERE id = :id"),  # noqa: S608 -- fixed test values
                    {"id": place_id},
                )
                db.session.flush()
            db.session.rollback()
        place = db.session.get(Place, place_id)
        assert place is not None
        duplicate = Place(
            ref=place.ref, category="food", address="", created_at=NOW, updated_at=NOW
        )
        db.session.add(duplicate)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_texts_fall_back_field_by_field(app: Flask, make_place: Callable[..., int]) -> None:
    place_id = make_place(
        name_en="Central Library",
        benefit_en="Free membership.",
        name_fr="Bibliothèque centrale",
        accessibility_fr="Rampe d'accès.",
    )
    with app.app_context():
        place = db.session.get(Place, place_id)
        assert place is not None
        french = places.view(place, "fr", LANGUAGES)
        assert (french.name.text, french.name.language) == ("Bibliothèque centrale", "fr")
        assert french.benefit is not None and french.benefit.language == "en"
        english = places.view(place, "en", LANGUAGES)
        assert english.name.text == "Central Library"
        # Only French has accessibility notes: English visitors see them, marked as French.
        assert english.accessibility is not None and english.accessibility.language == "fr"
        unknown = places.view(place, "de", LANGUAGES)
        assert unknown.name.language == "en"


def _search(**kwargs: object) -> list[str]:
    page = places.search(db.session, language="en", languages=LANGUAGES, **kwargs)  # type: ignore[arg-type]
    return [place.ref for place in page.places]


def test_search_matches_every_word_without_case_or_accents(
    app: Flask, make_place: Callable[..., int]
) -> None:
    make_place(ref="bib", name_en="Bibliothèque São Paulo", address="Rua Augusta 10")
    make_place(ref="clinic", category="health", name_en="Clinic", benefit_en="Free vaccines")
    make_place(ref="hidden", name_en="Secret library", published=False)
    with app.app_context():
        assert _search(query="BIBLIOTHEQUE sao") == ["bib"]
        assert _search(query="augusta") == ["bib"]
        assert _search(query="vacc") == ["clinic"]
        assert _search(query="vaccines bib") == []
        assert _search(query="100%_") == []  # LIKE wildcards are plain characters
        assert _search(category="health") == ["clinic"]
        assert _search(category="no-such-category") == ["bib", "clinic"]
        assert _search(query="secret") == []
        assert _search(query="secret", published=None) == ["hidden"]
        # A category's name finds its places, in the visitor's language.
        names = {"library": "bibliotheque", "health": "sante"}
        assert _search(query="sant", category_names=names) == ["clinic"]


def test_search_sorts_by_name_in_the_visitors_language_and_pages(
    app: Flask, make_place: Callable[..., int]
) -> None:
    make_place(ref="a", name_en="Zoo library", name_fr="Bibliothèque du zoo")
    make_place(ref="b", name_en="Émile Library")
    make_place(ref="c", name_en="art library")
    with app.app_context():
        assert _search() == ["c", "b", "a"]  # accents and case do not change the order
        french = places.search(db.session, language="fr", languages=LANGUAGES)
        assert [p.ref for p in french.places] == ["c", "a", "b"]
        second = places.search(db.session, language="en", languages=LANGUAGES, page=2, per_page=2)
        assert (second.total, second.pages, [p.ref for p in second.places]) == (3, 2, ["a"])
        beyond = places.search(db.session, language="en", languages=LANGUAGES, page=9, per_page=2)
        assert beyond.page == 2


def test_refs_are_made_from_names_and_never_change(app: Flask) -> None:
    with app.app_context():
        ctx = app_context()
        made = []
        for name in ("Central Library", "Central Library", "Центральна бібліотека", "Join"):
            values = places.validate({"category": "library", "name_en": name}, LANGUAGES)
            made.append(
                places.create_place(
                    db.session, values, languages=LANGUAGES, actor=None, now=ctx.now()
                ).ref
            )
        assert made[:2] == ["central-library", "central-library-2"]
        assert made[2].startswith("place-")  # no Latin letters to make a ref from
        assert made[3].startswith("place-")  # "join" is the page /places/join
        values = places.validate(
            {"ref": "central-library", "category": "food", "name_en": "Other"}, LANGUAGES
        )
        with pytest.raises(Conflict) as taken:
            places.create_place(db.session, values, languages=LANGUAGES, actor=None, now=NOW)
        assert taken.value.code == "ref_taken"
        place = db.session.execute(select(Place).where(Place.ref == "central-library")).scalar_one()
        renamed = places.validate(
            {"ref": "new-ref", "category": "library", "name_en": "Central Library"}, LANGUAGES
        )
        with pytest.raises(Conflict):
            places.update_place(db.session, place, renamed, actor=None, now=NOW)


def test_every_change_is_audited_with_ids_only(
    app: Flask, make_staff: Callable[..., object]
) -> None:
    editor = make_staff("editor")
    with app.app_context():
        from citizen_card.models import Staff

        actor = db.session.get(Staff, editor.id)  # type: ignore[attr-defined]
        values = places.validate(
            {"category": "library", "name_en": "Secretive Name", "benefit_en": "Free."}, LANGUAGES
        )
        place = places.create_place(db.session, values, languages=LANGUAGES, actor=actor, now=NOW)
        changed = places.validate(
            {"category": "library", "name_en": "Secretive Name", "benefit_en": "Half price."},
            LANGUAGES,
        )
        later = NOW + timedelta(minutes=1)
        assert places.update_place(db.session, place, changed, actor=actor, now=later) == [
            "benefit_en"
        ]
        assert places.update_place(db.session, place, changed, actor=actor, now=later) == []
        assert places.set_published(db.session, place, True, actor=actor, now=later)
        assert not places.set_published(db.session, place, True, actor=actor, now=later)
        assert places.set_published(db.session, place, False, actor=actor, now=later)
        db.session.commit()
        events = (
            db.session.execute(
                select(AuditEvent).where(AuditEvent.target_type == "place").order_by(AuditEvent.seq)
            )
            .scalars()
            .all()
        )
        assert [e.action for e in events] == [
            "place.create",
            "place.update",
            "place.publish",
            "place.unpublish",
        ]
        assert {e.target_ref for e in events} == {str(place.id)}
        assert {e.actor_ref for e in events} == {f"staff:{actor.id}"}  # type: ignore[union-attr]
        assert all("Secretive" not in e.detail and "price" not in e.detail for e in events)
        assert audit.verify_chain(db.session).ok
        assert place.updated_at == later


def test_the_card_line_is_a_city_setting(app: Flask) -> None:
    from dataclasses import replace

    with app.app_context():
        settings = app_context().settings
        assert places.card_line(settings, "en") is None
        shown = replace(settings, places_on_card=True)
        assert places.card_line(shown, "en") == (
            "Where the card is accepted: verify.lisboa.example/places"
        )
        assert places.public_address(shown) == "https://verify.lisboa.example/places"
        own = replace(shown, places_url="https://www.lisboa.example/cartao/locais")
        assert places.card_line(own, "en") == (
            "Where the card is accepted: www.lisboa.example/cartao/locais"
        )
