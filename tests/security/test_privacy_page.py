"""The privacy notice is public, linked from every page, and says the configured period."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_privacy_notice_is_public_and_linked(client: FlaskClient) -> None:
    page = client.get("/privacy")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "No copies or scans of your papers" in body
    assert "24 months" in body  # settings.retention_months
    assert "immigration status" in body
    assert 'href="/privacy"' in client.get("/my-card").get_data(as_text=True)


def test_privacy_notice_follows_the_chosen_language(client: FlaskClient) -> None:
    english = client.get("/privacy").get_data(as_text=True)
    french = client.get("/privacy", headers={"Accept-Language": "fr"})
    assert french.status_code == 200
    assert '<html lang="fr" dir="ltr">' in french.get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english
