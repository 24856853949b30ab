"""Cards in the city's label languages: Portuguese + English, Arabic + English, and every
pair of the catalogues present. Rendered for real, scanned back with zxing-cpp, their
text read from the PDF, their backs measured; PDFs kept in test-artifacts/ for eye checks.
"""

from __future__ import annotations

import datetime
import itertools
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from card_helpers import decode_all, make_qr_text, page_text, render
from flask import Flask
from flask_babel import Babel, force_locale
from flask_babel import gettext as _

from citizen_card.card import CardDesign, CardFace, render_card_pdf
from citizen_card.card.back import date_line, readable_date
from citizen_card.card.pdf import CARD_HEIGHT, CARD_WIDTH, SAFE, CardLabels, back_layout
from citizen_card.paths import ROOT, TRANSLATIONS
from citizen_card.services import city
from verify.language import SUPPORTED, catalogued

ARTIFACTS = ROOT / "test-artifacts"
CATALOGUED = catalogued(TRANSLATIONS, compiled=True)
VALID_UNTIL = datetime.date(2031, 11, 30)


@pytest.fixture
def babel_app() -> Iterator[Flask]:
    """Just enough of an app for Babel to find the catalogues."""
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app)
    with app.app_context():
        yield app


def _save(name: str, pdf: bytes) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(pdf)
    return path


def _letters(text: str) -> set[str]:
    return {ch for ch in text if unicodedata.category(ch).startswith("L")}


def _translated(code: str, message: str, **params: str) -> str:
    with force_locale(code):
        return str(_(message, **params))


CASES = {
    "pt-en": (("pt", "en"), "Maria José Gonçalves", None),
    "ar-en": (("ar", "en"), "فاطمة الزهراء", "Fatima Alzahra"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_card_in_two_label_languages_scans_and_says_what_it_is(
    babel_app: Flask,
    card_factory: Callable[..., CardFace],
    design: CardDesign,
    case: str,
) -> None:
    languages, names, latin = CASES[case]
    labels = city.card_labels(languages, "Lisboa")
    qr = make_qr_text(seed=7)
    face = card_factory(
        names=names, latin_name=latin, qr_text=qr, valid_until=VALID_UNTIL, labels=labels
    )
    pdf = render_card_pdf(face, design)
    _save(f"card-labels-{case}.pdf", pdf)

    assert [b.text for b in decode_all(render(pdf, 0, 300))] == [qr]
    front, back = page_text(pdf, 0), page_text(pdf, 1)
    # The expiry as people read it in the first label language, beside ISO 8601.
    first = readable_date(VALID_UNTIL, languages[0])
    assert "2031-11-30" in front
    assert _letters(first) <= _letters(front)
    assert {"pt": "NOV.", "ar": "نوفمبر"}[languages[0]] in first
    for code in languages:
        for message, params in (
            ("Local citizenship card of %(city)s", {"city": "Lisboa"}),
            ("This card does not show nationality or immigration status.", {}),
        ):
            sentence = _translated(code, message, **params)
            # PDFium gives right-to-left text back in its own order: compare the letters.
            assert _letters(sentence) <= _letters(back), (code, sentence)
            if code in CATALOGUED and code != "en":
                assert sentence != message, f"{code}: the catalogue lacks {message!r}"
    assert "VERIFY.LISBOA.EXAMPLE" in back.upper()


def test_an_arabic_line_is_set_flush_right_and_shaped(
    design: CardDesign, card_factory: Callable[..., CardFace]
) -> None:
    """An RTL statement ends at the right margin; the shaped glyphs are joining forms,
    not the isolated letters (HarfBuzz did its work). Until the Arabic catalogue lands,
    the words come from docs/glossary.md."""
    labels = CardLabels(
        card_number="رقم البطاقة / Card number",
        valid_until="صالحة حتى / Valid until",
        verify="تحقق من هذه البطاقة على / Check this card at",
        what=("بطاقة المواطنة المحلية لمدينة لشبونة", "Local citizenship card of Lisboa"),
        no_status=(
            "لا تُظهر هذه البطاقة الجنسية ولا وضع الهجرة.",
            "This card does not show nationality or immigration status.",
        ),
        languages=("ar", "en"),
    )
    face = card_factory(
        names="فاطمة الزهراء", latin_name="Fatima Alzahra", valid_until=VALID_UNTIL, labels=labels
    )
    pdf = render_card_pdf(face, design)
    _save("card-labels-ar-en-glossary.pdf", pdf)
    assert [b.text for b in decode_all(render(pdf, 0, 300))] == [face.qr_text]
    assert _letters("لا تُظهر هذه البطاقة الجنسية") <= _letters(page_text(pdf, 1))
    placed, _scale = back_layout(design, labels)
    arabic = next(item for item in placed if item.line.rtl)
    english = next(item for item in placed if item.line.text.startswith("Local"))
    right = CARD_WIDTH - SAFE
    assert arabic.x + arabic.line.width_at(arabic.size) == pytest.approx(right, abs=0.01)
    assert english.x == pytest.approx(SAFE)
    glyphs = "".join(str(run.text) for run in arabic.line.runs)
    # Joined Arabic letters come out as private-use glyph names or presentation forms,
    # never as the plain letters of the logical string.
    assert glyphs != arabic.line.text


def _pairs() -> list[tuple[str, str]]:
    codes = CATALOGUED if len(CATALOGUED) > 1 else (*CATALOGUED, "fr")
    return list(itertools.permutations(codes, 2))


def _fits(design: CardDesign, labels: CardLabels) -> None:
    placed, scale = back_layout(design, labels)
    assert placed
    for item in placed:
        assert item.x >= SAFE - 0.01, item.line.text
        assert item.x + item.line.width_at(item.size) <= CARD_WIDTH - SAFE + 0.01, item.line.text
        assert SAFE <= item.y <= CARD_HEIGHT, item.line.text
    # Shrunk, but still readable on a card held at arm's length.
    assert min(item.size for item in placed) >= 5.2 * 0.6, scale


@pytest.mark.parametrize(("first", "second"), _pairs())
def test_the_back_fits_in_every_pair_of_catalogued_languages(
    babel_app: Flask, design: CardDesign, first: str, second: str
) -> None:
    """With the city's longest texts (the design fixture's access text, line in three
    languages and return address) the back keeps everything on the card."""
    _fits(design, city.card_labels((first, second), "Vila Franca de Xira"))


def test_the_back_fits_the_longest_language_we_expect(design: CardDesign) -> None:
    """German and Russian run about 40 % longer than English: labels half as long again
    as the longest catalogue's must still fit."""
    stretch = "Eine Karte zeigt weder Staatsangehörigkeit noch Aufenthaltsstatus an, "
    labels = CardLabels(
        card_number="Kartennummer / Номер карты",
        verify="Prüfen Sie diese Karte unter / Проверьте эту карту на",
        access="Diese Karte öffnet den Zugang zu / Эта карта даёт доступ к",
        found="Gefunden? Bitte zurückgeben an / Нашли? Пожалуйста, верните в",
        what=(
            "Lokaler Bürgerausweis der Stadt Vila Franca de Xira",
            "Местная карта жителя города Вила-Франка-ди-Шира",
        ),
        no_status=(stretch + "und sagt nichts über Herkunft.", "Карта не показывает гражданство "),
        languages=("de", "ru"),
    )
    _fits(design, labels)


def test_a_date_reads_in_every_supported_language() -> None:
    for code in SUPPORTED:
        line = date_line(VALID_UNTIL, (code,))
        assert line.endswith("2031-11-30")
        assert "2031" in readable_date(VALID_UNTIL, code), code
    assert readable_date(VALID_UNTIL, "en") == "30 NOV 2031"
    assert readable_date(VALID_UNTIL, "zh") == "2031年11月30日"
    # Two languages with the same form print it once.
    assert date_line(VALID_UNTIL, ("es", "it")) == "30 NOV 2031 · 2031-11-30"


def test_a_no_break_space_holds_a_french_label_together() -> None:
    from citizen_card.card.text import shape_line, wrap

    width = shape_line("trouvée\u00a0?").width_at(6) + 0.5  # room for that, no more
    lines = wrap("Carte trouvée\u00a0? Merci", width, 6)
    assert [line.text for line in lines] == ["Carte", "trouvée\u00a0?", "Merci"]


def test_turkish_labels_keep_their_dotted_capital_i(babel_app: Flask) -> None:
    dotless, dotted_capital = "\u0131", "\u0130"
    number = f"Kart numaras{dotless}"
    assert city.turkish_for_upper_case(number).upper() == "KART NUMARASI"
    assert city.turkish_for_upper_case("Kimlik").upper() == f"K{dotted_capital}ML{dotted_capital}K"
    # English given for Turkish (its catalogue is not there yet) keeps plain capitals.
    labels = city.card_labels(("tr",), "Lisboa")
    if "tr" not in CATALOGUED:
        assert labels.valid_until == "Valid until"
