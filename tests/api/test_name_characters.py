"""Names are what they look like: no direction overrides, no invisible characters.

A name with a right-to-left override prints one way on the card and reads another on the
verify page; one with a zero-width space looks like a common name but hides from search.
Both are refused. The joiners that Persian and Indic scripts need stay, and search finds a
name whether it was typed with them or not.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from citizen_card.services import names

REFUSED = [
    "Ana \u202eztiroM",  # RIGHT-TO-LEFT OVERRIDE
    "Ana \u202bSilva",  # RIGHT-TO-LEFT EMBEDDING
    "\u2067Silva\u2069",  # RIGHT-TO-LEFT ISOLATE ... POP DIRECTIONAL ISOLATE
    "Silva\u200f",  # RIGHT-TO-LEFT MARK
    "\u061cSilva",  # ARABIC LETTER MARK
    "Jo\u200bão",  # ZERO WIDTH SPACE
    "Jo\u2060ão",  # WORD JOINER
    "\ufeffJoão",  # ZERO WIDTH NO-BREAK SPACE (a byte order mark)
    "Jo\u00adão",  # SOFT HYPHEN
    "Jo\u200dão",  # a joiner between Latin letters joins nothing
    "\u200cJoão",  # a joiner at the start of a name
    "Jo\u034fão",  # COMBINING GRAPHEME JOINER
    "\u3164",  # HANGUL FILLER, a letter that shows nothing
    "Silva \U000e0041",  # a tag character
]


@pytest.mark.parametrize("written", REFUSED, ids=ascii)
@pytest.mark.parametrize("field", ["given_names", "family_names", "used_name"])
def test_invisible_and_direction_characters_are_refused(
    client: FlaskClient, clerk_headers: dict[str, str], written: str, field: str
) -> None:
    body = {"given_names": "Ana", "family_names": "Silva"} | {field: written}
    response = client.post("/api/v1/residents", json=body, headers=clerk_headers)
    assert response.status_code == 422
    assert response.json["error"] == "invisible_character"
    assert response.json["field"] == field
    assert "invisible or text-direction characters" in response.json["message"]


def test_the_refusal_names_the_field_on_the_form_page(clerk_client: FlaskClient) -> None:
    from tests.conftest import csrf_token

    token = csrf_token(clerk_client, "/residents/new")
    page = clerk_client.post(
        "/residents/new",
        data={"given_names": "Ana", "family_names": "Silva\u202e", "csrf_token": token},
    )
    assert page.status_code == 422
    assert "invisible or text-direction characters" in page.get_data(as_text=True)


# Mehrangiz, written with the non-joiner as Persian does.
PERSIAN_WITH_ZWNJ = "مهر\u200cانگیز"  # noqa: RUF001 — Persian letters, not look-alikes
DEVANAGARI_WITH_ZWJ = "क्\u200dष"  # a half form made with the joiner


@pytest.mark.parametrize("written", [PERSIAN_WITH_ZWNJ, DEVANAGARI_WITH_ZWJ])
def test_the_joiners_a_script_needs_stay_and_search_ignores_them(
    client: FlaskClient, clerk_headers: dict[str, str], written: str
) -> None:
    created = client.post(
        "/api/v1/residents",
        json={"given_names": written, "family_names": written, "latin_name": "Mehrangiz Ksha"},
        headers=clerk_headers,
    )
    assert created.status_code == 201, created.json
    shown = client.get(f"/api/v1/residents/{created.json['id']}", headers=clerk_headers)
    assert shown.json["given_names"] == written  # kept exactly as written
    for query in (written, names.without_joiners(written)):
        found = client.post(
            "/api/v1/residents/search", json={"q": query}, headers=clerk_headers
        ).json["residents"]
        assert [r["id"] for r in found] == [created.json["id"]], query


def test_names_are_stored_in_composed_form(
    client: FlaskClient, clerk_headers: dict[str, str]
) -> None:
    decomposed = "Joa\u0303o"  # "a" followed by a combining tilde
    created = client.post(
        "/api/v1/residents",
        json={"given_names": decomposed, "family_names": "Silva"},
        headers=clerk_headers,
    )
    assert created.status_code == 201
    shown = client.get(f"/api/v1/residents/{created.json['id']}", headers=clerk_headers).json
    assert shown["given_names"] == "João"
    found = client.post("/api/v1/residents/search", json={"q": "joão"}, headers=clerk_headers)
    assert [r["id"] for r in found.json["residents"]] == [created.json["id"]]
