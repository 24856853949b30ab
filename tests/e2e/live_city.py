"""A whole issuing service over HTTP for the language and direction tests: a clerk, a
resident with a card, a place, served on 127.0.0.1 with the catalogues present.

Catalogues are those in citizen_card/translations, and for local runs those under the
directories named in ``CITIZEN_CARD_TEST_CATALOGUES`` (separated by ``:``, each holding
``<lang>/LC_MESSAGES/messages.po`` and ``.mo``): a way to try a language whose catalogue
is still being written without putting it in the tree.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from citizen_card import create_app
from citizen_card.context import app_context
from citizen_card.extensions import babel, db
from citizen_card.paths import TRANSLATIONS
from citizen_card.services import accounts, keyring, places
from tests.conftest import TEST_PASSWORD, make_settings, photo_bytes
from tests.e2e.conftest import make_test_server

EXTRA_CATALOGUES_ENV = "CITIZEN_CARD_TEST_CATALOGUES"
# A name in Arabic script with its Latin form: the card number and dates must keep their
# order beside it in every direction.
GIVEN, FAMILY, LATIN = "فاطمة", "الزهراء", "Fatima Alzahra"


def catalogue_directories() -> list[Path]:
    extra = [Path(part) for part in os.environ.get(EXTRA_CATALOGUES_ENV, "").split(":") if part]
    return [TRANSLATIONS, *extra]


def catalogues() -> dict[str, Path]:
    """Each language with a compiled catalogue → its messages.po (the first found wins)."""
    found: dict[str, Path] = {}
    for directory in catalogue_directories():
        for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
            if po.with_suffix(".mo").exists():
                found.setdefault(po.parent.parent.name, po)
    return found


@dataclass
class LiveCity:
    url: str
    app: Flask
    card_number: str
    qr: str

    def new_clerk(self, language: str | None = None) -> str:
        """A clerk account of its own for each login (logins are limited per account),
        whose staff pages speak ``language`` (None: the city's default)."""
        with self.app.app_context():
            ctx = app_context()
            clerk = accounts.create_staff(
                db.session,
                username=f"clerk-{secrets.token_hex(3)}",
                role="clerk",
                password=TEST_PASSWORD,
                policy=ctx.password_policy,
                now=ctx.now(),
                actor=None,
                must_change_password=False,
            )
            clerk.language = language
            db.session.commit()
            return clerk.username

    @property
    def verify_url(self) -> str:
        """The card's QR text points at this service's /V page, token in the fragment."""
        return f"{self.url}/V#{self.qr.split('#', 1)[1]}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_city(instance: Path, languages: tuple[str, ...]) -> Iterator[LiveCity]:
    """Serve the issuing app on SQLite with ``languages`` offered, until the block ends."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(instance, languages=languages, verify_base_url=url)
    app = create_app(settings)
    # The catalogues for local runs, and no translations cached from an app before this
    # one (Flask-Babel keeps them per locale for the process).
    app.extensions["babel"].translation_directories[:] = [
        str(path) for path in catalogue_directories()
    ]
    with app.app_context():
        babel.domain_instance.cache.clear()
        db.create_all()
        ctx = app_context()
        keyring.ensure_signing_key(db.session, settings, now=datetime.now(UTC))
        clerk = accounts.create_staff(
            db.session,
            username="clerk-api",
            role="clerk",
            password=TEST_PASSWORD,
            policy=ctx.password_policy,
            now=ctx.now(),
            actor=None,
            must_change_password=False,
        )
        token = accounts.create_api_token(db.session, clerk, now=ctx.now(), actor=None)
        language_set = places.Languages.from_settings(ctx.settings)
        places.create_place(
            db.session,
            places.validate(
                {
                    "ref": "central-library",
                    "category": "library",
                    "name_en": "Central Library",
                    "benefit_en": "Borrow books free of charge.",
                    "address": "Rua da Biblioteca 12",
                    "phone": "+351 21 123 4567",
                },
                language_set,
            ),
            languages=language_set,
            actor=None,
            now=ctx.now(),
            published=True,
        )
        db.session.commit()
    card = _issue_card(app, token)
    server = make_test_server(app, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveCity(url=url, app=app, card_number=card["card_number"], qr=card["qr"])
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        with app.app_context():
            babel.domain_instance.cache.clear()
            db.session.remove()
            db.engine.dispose()


def _issue_card(app: Flask, token: str) -> dict[str, Any]:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    resident = client.post(
        "/api/v1/residents",
        json={"given_names": GIVEN, "family_names": FAMILY, "latin_name": LATIN},
        headers=headers,
    ).json["id"]  # type: ignore[index]
    client.put(
        f"/api/v1/residents/{resident}/photo",
        data=photo_bytes(),
        headers=headers | {"Content-Type": "image/jpeg"},
    )
    card: dict[str, Any] = client.post(f"/api/v1/residents/{resident}/cards", headers=headers).json  # type: ignore[assignment]
    return card


def log_in(page: Any, city: LiveCity, language: str | None = None) -> None:
    """Log a new clerk in through the login form (in whatever language the page speaks);
    the staff pages then speak the account's ``language``, as a clerk chooses it."""
    page.goto(f"{city.url}/login")
    page.fill("#username", city.new_clerk(language))
    page.fill("#password", TEST_PASSWORD)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_selector("#q")
