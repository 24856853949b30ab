"""Names as people write them: the printed form, its order, search in every convention,
search by card number and the likely-duplicate check, through the service functions on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from citizen_card.card.pdf import CardLabels
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import AuditEvent
from citizen_card.services import duplicates, issuance, names, printing, registry, search
from citizen_card.services.errors import ValidationFailed
from verify.cardnumber import format_card_number
from verify.credential import decode_claims_unverified, extract_token, token_bytes


@pytest.mark.parametrize(
    ("given", "family", "order", "printed"),
    [
        ("Amadou", "Diallo", "given_first", "Amadou Diallo"),
        ("小龙", "李", "family_first", "李小龙"),
        ("小龙", "李", "given_first", "小龙李"),
        ("Thị Ngọc Ánh", "Trần", "family_first", "Trần Thị Ngọc Ánh"),
        ("Eszter", "Nagy", "family_first", "Nagy Eszter"),
        ("花子", "山田", "family_first", "山田花子"),
        ("ハナコ", "ヤマダ", "family_first", "ヤマダハナコ"),
        ("민준", "김", "family_first", "김민준"),
        ("𠀋", "𠮷野", "family_first", "𠮷野𠀋"),  # ideographs beyond the BMP
        # Thai writes words unspaced, yet spaces a given name from a family name.
        ("สมชาย", "ใจดี", "given_first", "สมชาย ใจดี"),
        ("Bruce", "李", "family_first", "李 Bruce"),  # the scripts that meet differ
        ("فاطمة", "الزهراء", "given_first", "فاطمة الزهراء"),
    ],
)
def test_the_printed_name_follows_order_and_script(
    given: str, family: str, order: str, printed: str
) -> None:
    assert names.printed_name(given, family, order) == printed


def test_the_preview_script_reads_the_same_ranges() -> None:
    pairs = [part.split("-") for part in names.unspaced_ranges().split(",")]
    assert [(int(low, 16), int(high, 16)) for low, high in pairs] == list(names.UNSPACED_RANGES)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.rollback()


def _details(**values: Any) -> registry.ResidentDetails:
    c = app_context()
    return registry.validate_details(values, c.registry_policy, today=c.now().date())


def _register(**values: Any) -> str:
    c = app_context()
    resident = registry.register(
        db.session, _details(**values), keys=c.registry_keys, actor=None, now=c.now()
    )
    db.session.commit()
    return resident.public_id


def _find(query: str) -> list[str]:
    c = app_context()
    hits = search.find(db.session, query, keys=c.registry_keys, actor=None, now=c.now())
    db.session.commit()
    return [hit.public_id for hit in hits]


LI = {
    "given_names": "小龙",
    "family_names": "李",
    "name_order": "family_first",
    "latin_name": "Li Xiaolong",
}


def test_the_order_is_validated_and_sealed_with_the_names(ctx: None) -> None:
    assert _details(given_names="A", family_names="B").name_order == "given_first"
    with pytest.raises(ValidationFailed) as refused:
        _details(given_names="A", family_names="B", name_order="family-first")
    assert (refused.value.code, refused.value.field) == ("invalid", "name_order")
    public_id = _register(**LI)
    c = app_context()
    details = registry.open_details(registry.get(db.session, public_id), c.registry_keys)
    assert (details.name_order, details.printed_name) == ("family_first", "李小龙")


def test_a_card_prints_and_signs_the_name_in_its_order(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    public_id = make_resident(**LI)
    c = app_context()
    resident = registry.get(db.session, public_id)
    issued = issuance.issue(db.session, resident, settings=c.settings, actor=None, now=c.now())
    db.session.commit()
    claims = decode_claims_unverified(token_bytes(extract_token(issued.qr)))
    assert (claims.name, claims.latin_name) == ("李小龙", "Li Xiaolong")
    face = printing.card_face(issued.card, settings=c.settings, labels=CardLabels())
    assert (face.names, face.latin_name) == ("李小龙", "Li Xiaolong")


def test_a_name_is_found_in_its_own_convention_with_or_without_spaces(ctx: None) -> None:
    li = _register(**LI)
    other = _register(given_names="小明", family_names="李", name_order="family_first",
                      latin_name="Li Xiaoming")  # fmt: skip
    for query in ("李小龙", "李 小龙", "小龙", "Li Xiaolong", "Xiaolong Li", "xiaolong"):
        assert _find(query) == [li], query
    assert sorted(_find("李")) == sorted([li, other])
    assert _find("王小龙") == []


def test_latin_names_in_any_order_and_joined_words(ctx: None) -> None:
    mohammed = _register(given_names="Mohammed", family_names="Abdel Rahman")
    nagy = _register(given_names="Eszter", family_names="Nagy", name_order="family_first")
    for query in ("Mohammed Abdel Rahman", "Abdel Rahman Mohammed", "Abdelrahman", "rahman"):
        assert _find(query) == [mohammed], query
    assert _find("Nagy Eszter") == _find("Eszter Nagy") == [nagy]


def test_a_card_number_in_any_printed_form_finds_its_holder(
    ctx: None, make_resident: Callable[..., str]
) -> None:
    holder = make_resident()
    make_resident(given_names="Other", family_names="Person")
    c = app_context()
    issued = issuance.issue(
        db.session, registry.get(db.session, holder), settings=c.settings, actor=None, now=c.now()
    )
    db.session.commit()
    number = issued.card.number
    printed = format_card_number(number)
    lookalikes = number.replace("1", "l").replace("0", "O").lower()
    for query in (printed, number, printed.replace("-", " "), lookalikes, f"  {printed} "):
        assert _find(query) == [holder], query
    # One symbol wrong: the check symbol fails and it is no card number; no one is found.
    wrong = ("1" if number[0] != "1" else "2") + number[1:]
    assert _find(wrong) == []
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == search.SEARCH_ACTION)
    ).all()
    assert len(events) == 6
    for event in events:  # how many were found, never the number searched
        assert json.loads(event.detail) in ({"results": 1}, {"results": 0})
        assert number not in event.detail and printed not in event.detail


def _register_new(confirm: bool = False, **values: Any) -> str:
    c = app_context()
    resident = duplicates.register_new(
        db.session,
        _details(**values),
        keys=c.registry_keys,
        actor=None,
        now=c.now(),
        confirm_duplicate=confirm,
    )
    db.session.commit()
    return resident.public_id


ARABIC = {
    "given_names": "محمد",
    "family_names": "عبد الرحمن",
    "latin_name": "Mohammed Abdelrahman",
    "date_of_birth": "1990-05-01",
}


def test_a_likely_duplicate_is_asked_about_and_the_look_audited(ctx: None) -> None:
    first = _register_new(**ARABIC)
    with pytest.raises(duplicates.LikelyDuplicate) as asked:
        # The same tokens in another order and another Latin spelling: still the same.
        _register_new(
            **ARABIC
            | {"given_names": "عبد الرحمن", "family_names": "محمد", "latin_name": "Muhammad A."}
        )
    assert [hit.public_id for hit in asked.value.hits] == [first]
    assert asked.value.hits[0].printed_name == "محمد عبد الرحمن"
    assert asked.value.status == 409 and asked.value.code == "likely_duplicate"
    db.session.commit()  # as the views do: the check's audit event stays
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == search.SEARCH_ACTION)
    ).all()
    assert json.loads(event.detail) == {"results": 1}
    assert "محمد" not in event.detail
    # Not the same person when the birth date differs, or a name token does.
    _register_new(**ARABIC | {"date_of_birth": "1991-05-01"})
    _register_new(**ARABIC | {"family_names": "عبد الله"})
    # The clerk says it is another person: registered.
    second = _register_new(confirm=True, **ARABIC)
    assert second != first
    with pytest.raises(duplicates.LikelyDuplicate) as again:
        _register_new(**ARABIC)
    assert sorted(hit.public_id for hit in again.value.hits) == sorted([first, second])
