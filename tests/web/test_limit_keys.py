"""Limits count what the lookup they guard sees, and their keys name nobody.

Typing the same user name or card number another way must not open a fresh budget: the
login lookup reads fullwidth letters as plain ones (NFKC), the card lookup reads I and L
as 1 and O as 0. And a limit's key (kept in Redis, written by Flask-Limiter's log line
when it is hit) must not hold a card number or an address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from citizen_card.models import Staff
from tests.conftest import csrf_token
from verify.cardnumber import format_card_number, new_card_number


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def test_every_spelling_of_a_user_name_counts_against_one_budget(
    client: FlaskClient, make_staff: Callable[..., Staff]
) -> None:
    make_staff("auditor", username="aud1")
    spellings = ["aud1", "AUD1", _fullwidth("aud1"), _fullwidth("AUD1"), " aud1 "]
    statuses = []
    for attempt in range(12):
        response = client.post(
            "/login",
            data={
                "username": spellings[attempt % len(spellings)],
                "password": "not the password at all",
                "csrf_token": csrf_token(client),
            },
        )
        statuses.append(response.status_code)
    # Ten per minute per account, however it is typed.
    assert statuses == [401] * 10 + [429] * 2


def _card_number_with_lookalikes() -> str:
    """A valid card number that holds a 0 and a 1, so it can be typed with O, I and L."""
    while True:
        number = new_card_number()
        if "0" in number and "1" in number:
            return number


def test_every_spelling_of_a_card_number_counts_against_one_budget(client: FlaskClient) -> None:
    number = _card_number_with_lookalikes()
    spellings = [
        number,
        format_card_number(number).lower(),
        number.replace("0", "O").replace("1", "I"),
        number.replace("1", "L").replace("0", "o"),
        " ".join(format_card_number(number).split("-")),
    ]
    token = csrf_token(client, "/my-card")
    statuses = [
        client.post(
            "/my-card",
            data={
                "card_number": spellings[i % len(spellings)],
                "code": "AAAA-AAAA-AAAA",
                "csrf_token": token,
            },
        ).status_code
        for i in range(7)
    ]
    # Five per fifteen minutes per card.
    assert statuses == [400] * 5 + [429] * 2


def test_the_limiters_log_line_names_no_card_and_no_address(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, app: Flask
) -> None:
    caplog.set_level(logging.INFO, logger="flask-limiter")
    number = _card_number_with_lookalikes()
    token = csrf_token(client, "/my-card")
    for _ in range(6):
        client.post(
            "/my-card",
            data={"card_number": number, "code": "AAAA-AAAA-AAAA", "csrf_token": token},
        )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "exceeded" in logged  # the breach was logged ...
    assert number not in logged and format_card_number(number) not in logged  # ... opaquely
    assert "127.0.0.1" not in logged
