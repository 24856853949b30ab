"""Card life through the service functions: transitions, audit events, download codes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from citizen_card.card.pdf import CardLabels
from citizen_card.card.qr import qr_matrix
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Card, StatusList
from citizen_card.services import audit, cards, downloads, issuance, keyring, printing, registry
from citizen_card.services.errors import Conflict, DomainError, ValidationFailed
from verify.cardnumber import format_card_number, is_valid_card_number
from verify.credential import (
    decode_claims_unverified,
    encode_token,
    extract_token,
    qr_text,
    token_bytes,
)
from verify.status import LIST_SIZE


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.rollback()


def _issue(public_id: str) -> issuance.IssuedCard:
    c = app_context()
    resident = registry.get(db.session, public_id)
    issued = issuance.issue(db.session, resident, settings=c.settings, actor=None, now=c.now())
    db.session.commit()
    return issued


def _events(card_number: str) -> list[tuple[str, dict[str, object]]]:
    rows = db.session.execute(
        select(AuditEvent).where(AuditEvent.target_ref == card_number).order_by(AuditEvent.seq)
    ).scalars()
    return [(row.action, json.loads(row.detail)) for row in rows]


def test_issue_signs_the_printed_name_and_a_fresh_status_entry(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()
    issued = _issue(public_id)
    card = issued.card

    assert is_valid_card_number(card.number)
    assert card.status == "active"
    assert 0 <= card.status_index < LIST_SIZE
    assert db.session.get(StatusList, card.status_list_id) is not None
    claims = decode_claims_unverified(token_bytes(extract_token(issued.qr)))
    assert claims.name == "María José García López"
    assert claims.card_number == card.number
    assert (claims.status_list, claims.status_index) == (card.status_list_id, card.status_index)
    assert claims.expires_at == int(card.expires_at.timestamp())
    assert issued.qr.startswith("HTTPS://VERIFY.LISBOA.EXAMPLE/V#")
    # Kept sealed, never in clear.
    assert card.qr_sealed is not None and issued.qr.encode() not in card.qr_sealed
    assert cards.qr_of(card, settings=app_context().settings) == issued.qr
    assert len(issued.download_code) == 12
    assert card.download_code_hash is not None
    assert _events(card.number) == [("card.issue", {"resident": public_id})]
    assert audit.verify_chain(db.session).ok


def test_issue_without_photo_is_refused(ctx: None, make_resident: Callable[..., str]) -> None:
    public_id = make_resident(photo=False)
    with pytest.raises(cards.IssuanceError) as caught:
        _issue(public_id)
    assert caught.value.code == "no_photo"
    assert caught.value.status == 422


def test_second_card_while_one_is_current_is_a_conflict(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()
    _issue(public_id)
    with pytest.raises(Conflict) as caught:
        _issue(public_id)
    assert caught.value.code == "has_current_card"


def test_issue_after_expiry_closes_the_expired_card(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()
    old = _issue(public_id).card
    c = app_context()
    later = old.expires_at + timedelta(days=1)
    assert cards.state_of(old, later) == "expired"
    resident = registry.get(db.session, public_id)
    new = issuance.issue(db.session, resident, settings=c.settings, actor=None, now=later)
    db.session.commit()
    assert (old.status, old.revocation_reason) == ("revoked", "expired")
    assert new.card.status == "active"
    assert _events(old.number)[-1] == ("card.revoke", {"reason": "expired"})


def test_suspend_reinstate_revoke_and_forbidden_transitions(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    card = _issue(make_resident()).card
    c = app_context()
    generation = db.session.get(StatusList, card.status_list_id).generation

    with pytest.raises(cards.CardNotActive) as caught:
        issuance.reinstate(db.session, card, actor=None, now=c.now())
    assert caught.value.code == "card_not_suspended"

    issuance.suspend(db.session, card, actor=None, now=c.now())
    db.session.commit()
    assert card.status == "suspended"
    with pytest.raises(cards.CardNotActive):
        issuance.suspend(db.session, card, actor=None, now=c.now())
    with pytest.raises(cards.CardNotActive):
        issuance.renew(db.session, card, settings=c.settings, actor=None, now=c.now())

    issuance.reinstate(db.session, card, actor=None, now=c.now())
    db.session.commit()
    assert card.status == "active"

    with pytest.raises(ValidationFailed) as bad_reason:
        issuance.revoke(db.session, card, "because", actor=None, now=c.now())
    assert bad_reason.value.code == "invalid_reason"

    issuance.revoke(db.session, card, "stolen", actor=None, now=c.now())
    db.session.commit()
    assert (card.status, card.revocation_reason) == ("revoked", "stolen")
    for change in (issuance.suspend, issuance.reinstate):
        with pytest.raises(cards.CardNotActive):
            change(db.session, card, actor=None, now=c.now())
    with pytest.raises(cards.CardNotActive) as again:
        issuance.revoke(db.session, card, "lost", actor=None, now=c.now())
    assert again.value.code == "card_revoked"

    # Each status change told the publisher, in its own transaction.
    db.session.expire_all()
    assert db.session.get(StatusList, card.status_list_id).generation == generation + 3
    assert [action for action, _ in _events(card.number)] == [
        "card.issue",
        "card.suspend",
        "card.reinstate",
        "card.revoke",
    ]
    assert _events(card.number)[-1][1] == {"reason": "stolen"}


def test_renew_keeps_the_old_card_until_the_new_one_is_handed_over(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()
    first = _issue(public_id).card
    c = app_context()

    renewed = issuance.renew(db.session, first, settings=c.settings, actor=None, now=c.now())
    db.session.commit()
    # The resident's working card keeps working; the new one waits for the hand-over.
    assert (first.status, first.revocation_reason) == ("active", None)
    assert (renewed.card.status, renewed.card.replaces_id) == ("pending", first.id)
    assert renewed.card.number != first.number
    assert _events(renewed.card.number)[0] == (
        "card.renew",
        {"resident": public_id, "replaces": first.number, "reason": "renewed", "pending": True},
    )
    # One renewal at a time.
    with pytest.raises(Conflict) as caught:
        issuance.renew(db.session, first, settings=c.settings, actor=None, now=c.now())
    assert caught.value.code == "has_pending_card"
    db.session.rollback()
    with pytest.raises(DomainError) as refused:
        issuance.hand_over(db.session, renewed.card, actor=None, now=c.now())
    assert refused.value.code == "not_printed"

    renewed.card.printed_at = c.now()
    # A suspension of the old card is not lifted by handing over its successor.
    issuance.suspend(db.session, first, actor=None, now=c.now())
    with pytest.raises(DomainError) as suspended:
        issuance.hand_over(db.session, renewed.card, actor=None, now=c.now())
    assert suspended.value.code == "replaced_card_suspended"
    issuance.reinstate(db.session, first, actor=None, now=c.now())
    issuance.hand_over(db.session, renewed.card, actor=None, now=c.now())
    db.session.commit()
    db.session.expire_all()
    assert (first.status, first.revocation_reason) == ("revoked", "superseded")
    assert first.download_code_hash is None
    assert (renewed.card.status, renewed.card.handed_over_at is not None) == ("active", True)
    assert _events(first.number)[-1] == ("card.revoke", {"reason": "superseded"})
    assert _events(renewed.card.number)[-1] == ("card.hand_over", {"replaces": first.number})
    with pytest.raises(Conflict) as again:
        issuance.hand_over(db.session, renewed.card, actor=None, now=c.now())
    assert again.value.code == "already_handed_over"


def test_lost_or_stolen_revokes_at_once_damaged_waits(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident()
    first = _issue(public_id).card
    c = app_context()
    damaged = issuance.replace(
        db.session, first, "damaged", settings=c.settings, actor=None, now=c.now()
    )
    db.session.commit()
    assert (first.status, damaged.card.status) == ("active", "pending")
    # Cancelling the pending card (issued in error) leaves the working card as it was.
    issuance.revoke(db.session, damaged.card, "issued_in_error", actor=None, now=c.now())
    db.session.commit()
    assert first.status == "active"

    issuance.suspend(db.session, first, actor=None, now=c.now())
    with pytest.raises(ValidationFailed):
        issuance.replace(db.session, first, "renewed", settings=c.settings, actor=None, now=c.now())
    replaced = issuance.replace(
        db.session, first, "lost", settings=c.settings, actor=None, now=c.now()
    )
    db.session.commit()
    assert (first.status, first.revocation_reason) == ("revoked", "lost")
    assert replaced.card.status == "active"
    current = [
        v
        for v in cards.cards_of(db.session, registry.get(db.session, public_id), now=c.now())
        if v.is_current
    ]
    assert [v.card.number for v in current] == [replaced.card.number]


def test_download_code_is_single_use_and_expires(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    issued = _issue(make_resident())
    other = _issue(make_resident(given_names="Amadou", family_names="Diallo"))
    c = app_context()
    number, code = format_card_number(issued.card.number), issued.download_code
    refusals = [
        (number, "0000-0000-0000"),
        (number, other.download_code),  # a code made for another card
        (format_card_number(other.card.number), code),
        ("not a number", code),
        (number, ""),
    ]
    for typed_number, typed_code in refusals:
        with pytest.raises(downloads.DownloadRefused) as caught:
            downloads.redeem_download_code(db.session, typed_number, typed_code, now=c.now())
        assert caught.value.message == downloads.DownloadRefused().message

    too_late = c.now() + downloads.DOWNLOAD_CODE_VALIDITY + timedelta(seconds=1)
    with pytest.raises(downloads.DownloadRefused):
        downloads.redeem_download_code(db.session, number, code, now=too_late)

    # Lower case, spaces, no dashes: read as the receipt's code.
    card = downloads.redeem_download_code(
        db.session, number.lower(), " ".join(code.lower()), now=c.now()
    )
    db.session.commit()
    assert card.download_code_used_at is not None
    assert _events(card.number)[-1] == ("card.download", {})
    with pytest.raises(downloads.DownloadRefused):
        downloads.redeem_download_code(db.session, number, code, now=c.now())

    fresh = downloads.new_download_code(db.session, card, actor=None, now=c.now())
    db.session.commit()
    assert downloads.redeem_download_code(db.session, number, fresh, now=c.now()) is card
    db.session.commit()

    # A revoked card opens with no code.
    fresh = downloads.new_download_code(db.session, card, actor=None, now=c.now())
    issuance.revoke(db.session, card, "lost", actor=None, now=c.now())
    db.session.commit()
    with pytest.raises(downloads.DownloadRefused):
        downloads.redeem_download_code(db.session, number, fresh, now=c.now())
    with pytest.raises(cards.CardNotActive):
        downloads.new_download_code(db.session, card, actor=None, now=c.now())


def test_unknown_card_numbers_are_not_found(ctx: None) -> None:
    for text in ("", "XXXX", "0000-0000-0000", "A" * 100):
        with pytest.raises(cards.CardNotFound):
            cards.get_card(db.session, text)


def test_a_full_status_list_opens_the_next_one(
    ctx: None, make_resident: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _issue(make_resident()).card
    # Shrink the list to what is used; the next card must go to a new list.
    status_list = db.session.get(StatusList, first.status_list_id)
    status_list.size = 1
    db.session.commit()
    second = _issue(make_resident(given_names="Ana")).card
    assert second.status_list_id == first.status_list_id + 1
    assert db.session.get(StatusList, second.status_list_id).size == LIST_SIZE


def test_errors_carry_stable_codes(ctx: None) -> None:
    assert issubclass(cards.IssuanceError, DomainError)
    assert cards.CardNotActive().status == 409
    assert cards.CardNotFound().status == 404
    assert downloads.DownloadRefused().code == "download_refused"
    assert db.session.scalar(select(Card.id)) is None


# --- the name as printed, in both forms, and the QR size budget ---------------------------

ARABIC = {"given_names": "فاطمة الزهراء", "family_names": "الحسينية"}  # 20 letters
LATIN_FORM = "Fatima Alzahra Alhusainia"  # 25 characters


def _face(card: Card) -> Any:
    return printing.card_face(card, settings=app_context().settings, labels=CardLabels())


def test_a_name_in_another_script_is_signed_with_its_latin_form_as_printed(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident(**ARABIC, latin_name=LATIN_FORM)
    issued = _issue(public_id)

    claims = decode_claims_unverified(token_bytes(extract_token(issued.qr)))
    assert (claims.name, claims.latin_name, claims.layout) == (
        "فاطمة الزهراء الحسينية",
        LATIN_FORM,
        2,
    )
    # Two forms do not fit version 10 at this length; version 11 is allowed for them.
    assert qr_matrix(issued.qr).version == issuance.MAX_QR_VERSION_TWO_FORMS == 11
    face = _face(issued.card)
    assert (face.names, face.latin_name) == (claims.name, claims.latin_name)

    # The card goes on printing what its QR code says, whatever the record says later.
    c = app_context()
    resident = registry.get(db.session, public_id)
    registry.update(
        db.session,
        resident,
        {"latin_name": "Fatima Al-Zahra Al-Husainiya"},
        keys=c.registry_keys,
        policy=c.registry_policy,
        actor=None,
        now=c.now(),
    )
    db.session.commit()
    assert _face(issued.card).latin_name == LATIN_FORM


def test_a_latin_name_is_signed_alone_within_version_10(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    # 40 characters, six of them accented: the budget's edge for one form.
    issued = _issue(
        make_resident(given_names="María José da Conceição", family_names="Gonçalves Araújo")
    )
    claims = decode_claims_unverified(token_bytes(extract_token(issued.qr)))
    assert (len(claims.name), claims.latin_name, claims.layout) == (40, None, 1)
    assert qr_matrix(issued.qr).version == 10
    assert _face(issued.card).latin_name is None


@pytest.mark.parametrize(
    "names",
    [
        # One form needing version 11: refused, the design allows 10.
        {"given_names": "Maria da Conceição Aparecida", "family_names": "dos Santos Gonçalves"},
        # Two forms needing version 12.
        {
            "given_names": "عبد الرحمن محمد",
            "family_names": "الحسيني الهاشمي القرشي",
            "latin_name": "Abd al-Rahman Muhammad al-Husayni al-Hashimi",
        },
        # A Latin form longer than a claim may be.
        {"given_names": "明", "family_names": "王", "latin_name": "Wang " + "Ming" * 20},
    ],
)
def test_a_name_too_long_for_the_card_is_refused_and_nothing_is_kept(
    ctx: None, make_resident: Callable[..., str], names: dict[str, str]
) -> None:
    public_id = make_resident(**names)
    with pytest.raises(cards.IssuanceError) as caught:
        _issue(public_id)
    assert (caught.value.code, caught.value.status) == ("name_too_long", 422)
    db.session.rollback()
    assert db.session.scalars(select(Card)).all() == []


def test_a_card_issued_before_the_latin_form_was_signed_still_verifies_and_prints_it(
    ctx: None, make_resident: Callable[..., str], app: Flask
) -> None:
    # A layout-1 card: its QR code signs the name alone, the Latin form printed apart.
    public_id = make_resident(**ARABIC, latin_name=LATIN_FORM)
    card = _issue(public_id).card
    c = app_context()
    claims = decode_claims_unverified(
        token_bytes(extract_token(cards.qr_of(card, settings=c.settings) or ""))
    )
    signer = keyring.signer(keyring.active_key(db.session), c.settings)
    old_qr = qr_text(
        c.settings.verify_base_url, encode_token(replace(claims, latin_name=None), signer)
    )
    resident = registry.get(db.session, public_id)
    card.qr_sealed = cards.seal_qr(
        registry.data_key(resident, c.registry_keys), card.number, old_qr
    )
    db.session.commit()

    face = _face(card)
    assert (face.qr_text, face.latin_name) == (old_qr, LATIN_FORM)
    db.session.rollback()  # the request below opens its own session
    result = app.test_client().post("/api/v1/verify", json={"qr": old_qr}).get_json()
    assert (result["reason"], result["name"], result["latin_name"]) == (
        "ok",
        "فاطمة الزهراء الحسينية",
        None,
    )
