"""The translation catalogues stay complete and correct, and pages really come out translated.

- Every string the code marks for translation (extracted afresh, with the options of
  ``scripts/i18n.sh``) has a non-empty translation in every catalogue.
- No entry is fuzzy: a fuzzy entry is a guess that gettext silently ignores.
- Every translation keeps the placeholders of its message id, so formatting cannot break
  or lose a value (a count, a field name, a URL).
- A page asked for in French is in French, and the language switch works.

When a test here fails after a change to the strings: run ``./scripts/i18n.sh``, translate
the entries it names in ``citizen_card/translations/*/LC_MESSAGES/messages.po``, then
``.venv/bin/pybabel compile -d citizen_card/translations`` (``scripts/setup.sh`` does it).
"""

from __future__ import annotations

import gettext
import json
import re
import shlex
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from citizen_card.paths import ROOT, TRANSLATIONS
from tests.conftest import csrf_token

I18N_SCRIPT = ROOT / "scripts" / "i18n.sh"
CATALOGUES = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
FRENCH = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
# %(name)s, %(count)d, %(size).1f ... and the {name} slots the verify page's script fills in.
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{\w*\}")


def _catalogue_id(path: Path) -> str:
    return path.parent.parent.name


def _read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=_catalogue_id(path))


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _forms(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    assert isinstance(value, tuple | list)
    return [str(form or "") for form in value]


def _extract_options() -> list[str]:
    """The options scripts/i18n.sh gives ``pybabel extract``, without its output and input."""
    script = I18N_SCRIPT.read_text(encoding="utf-8").replace("\\\n", " ")
    line = next((ln for ln in script.splitlines() if "pybabel extract" in ln), None)
    assert line is not None, f"no 'pybabel extract' command in {I18N_SCRIPT}"
    words = shlex.split(line)
    words = words[words.index("extract") + 1 :]
    options: list[str] = []
    skip = False
    for i, word in enumerate(words):
        if skip:
            skip = False
        elif word in ("-o", "--output-file", "--output"):
            skip = True
        elif word.startswith(("-o", "--output-file=", "--output=")):
            pass
        elif i == len(words) - 1 and not word.startswith("-"):
            pass  # the input directory
        else:
            options.append(word)
    assert "-F" in options, f"unexpected extract command in {I18N_SCRIPT}: {line}"
    return options


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Every marked string of citizen_card/, verify/ and the templates, extracted now."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "extract"]
    command += [*_extract_options(), "-o", str(pot), "."]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    with pot.open("rb") as file:
        template = read_po(file)
    assert len([m for m in template if m.id]) > 100, "the extraction found almost nothing"
    return template


def test_there_is_a_french_catalogue() -> None:
    assert FRENCH in CATALOGUES


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_every_marked_string_is_translated(path: Path, extracted: Catalog) -> None:
    catalogue = _read(path)
    missing: list[str] = []
    for template_message in extracted:
        if not template_message.id:
            continue
        message = catalogue.get(template_message.id)
        if message is None:
            missing.append(f"not in the catalogue: {_key(template_message)!r}")
        elif not all(form.strip() for form in _forms(message.string)):
            missing.append(f"not translated: {_key(template_message)!r}")
        elif not isinstance(template_message.id, str) and len(_forms(message.string)) != (
            catalogue.num_plurals
        ):
            missing.append(f"wrong number of plural forms: {_key(template_message)!r}")
    assert not missing, (
        f"{len(missing)} string(s) lack a translation in {path.relative_to(ROOT)} "
        "(run ./scripts/i18n.sh, translate, compile):\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_no_entry_is_fuzzy(path: Path) -> None:
    catalogue = _read(path)
    assert not catalogue.fuzzy, f"the header of {path.relative_to(ROOT)} is marked fuzzy"
    fuzzy = [_key(message) for message in catalogue if message.id and message.fuzzy]
    assert not fuzzy, "fuzzy entries (check them, then remove the flag):\n" + "\n".join(
        repr(key) for key in fuzzy
    )


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def _single_number_forms(catalogue: Catalog) -> set[int]:
    """The plural forms that only one number takes (Arabic's 0, 1 and 2; no Russian form).

    Such a form may leave the number out ("بطاقتان" is "two cards" whole); a form that
    several numbers share must show it (Russian's "one" form serves 1, 21, 31...).
    """
    rule = gettext.c2py(catalogue.plural_expr)
    numbers: dict[int, set[int]] = {}
    for n in range(0, 1001):
        numbers.setdefault(rule(n), set()).add(n)
    return {form for form, taken in numbers.items() if len(taken) == 1}


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_translations_keep_the_placeholders(path: Path) -> None:
    catalogue = _read(path)
    single = _single_number_forms(catalogue)
    wrong: list[str] = []
    for message in catalogue:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        expected = sorted({p for text in ids for p in PLACEHOLDER.findall(text)})
        for index, form in enumerate(_forms(message.string)):
            found = sorted(set(PLACEHOLDER.findall(form)))
            if not isinstance(message.id, str) and index in single:
                # The number (ngettext's ``num``) may go; nothing else may.
                allowed = {p for p in expected if not p.startswith("%(num)")}
                if allowed <= set(found) <= set(expected):
                    continue
            if form and found != expected:
                wrong.append(f"{_key(message)!r}: expected {expected}, found {found} in {form!r}")
    # Babel's own checks too (what `pybabel compile` reports): format types, plural counts.
    for message, errors in catalogue.check():
        wrong += [f"{_key(message)!r}: {error}" for error in errors]
    assert not wrong, "\n".join(wrong)


def test_only_a_single_number_form_may_leave_the_number_out() -> None:
    arabic, russian = Catalog(locale="ar"), Catalog(locale="ru")
    assert _single_number_forms(arabic) == {0, 1, 2}
    assert _single_number_forms(russian) == set()


def test_french_plural_rule() -> None:
    """French has two forms, and 0 takes the singular ("0 résident trouvé")."""
    catalogue = _read(FRENCH)
    assert catalogue.num_plurals == 2
    assert catalogue.plural_expr.replace(" ", "") == "(n>1)"


def _french_is_compiled() -> None:
    """The pages use messages.mo: it must hold what messages.po says."""
    compiled = FRENCH.with_suffix(".mo")
    hint = "run .venv/bin/pybabel compile -d citizen_card/translations"
    assert compiled.exists(), f"the French catalogue is not compiled: {hint}"
    with compiled.open("rb") as file:
        mo = gettext.GNUTranslations(file)
    stale = []
    for message in _read(FRENCH):
        if not message.id:
            continue
        if isinstance(message.id, str):
            got = [mo.gettext(message.id)]
        else:
            got = [mo.ngettext(message.id[0], message.id[1], n) for n in (1, 2)]
        if got != _forms(message.string):
            stale.append(_key(message))
    assert not stale, f"messages.mo is older than messages.po ({stale[:3]}...): {hint}"


def test_a_page_asked_for_in_french_is_in_french(client: FlaskClient) -> None:
    _french_is_compiled()
    page = client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert "Connexion du personnel" in page
    assert "Carte de citoyenneté locale" in page
    assert "Staff login" not in page
    english = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english
    assert "Staff login" in english


def test_the_language_can_be_switched(client: FlaskClient) -> None:
    _french_is_compiled()
    response = client.post(
        "/language", data={"lang": "fr", "next": "/login", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    # The choice wins over what the browser asks for.
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert "Connexion du personnel" in page
    client.post(
        "/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)}
    )
    page = client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in page
    assert "Staff login" in page


def test_the_card_check_page_speaks_french(client: FlaskClient) -> None:
    """The words the verify scripts show come translated in the page's JSON config."""
    _french_is_compiled()
    page = client.get("/scan", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert "Lecteur de cartes" in page
    config = json.loads(
        re.search(r'id="verify-config">(.*?)</script>', page, re.S).group(1)  # type: ignore[union-attr]
    )
    titles = {reason: verdict["title"] for reason, verdict in config["strings"]["verdicts"].items()}
    assert titles["ok"] == "Valide"
    assert titles["revoked"] == "Annulée — ne pas accepter"
    assert titles["status_unknown"] == "Impossible de confirmer — statut non vérifié"
    assert config["strings"]["camera"]["start"] == "Allumer la caméra"


class _VisibleText(HTMLParser):
    """The text a template shows outside gettext: text nodes and the readable attributes."""

    ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "label"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        self.found += [v for k, v in attrs if k in self.ATTRIBUTES and v and _WORD.search(v)]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data: str) -> None:
        text = " ".join(data.replace("§", " ").split())
        if '="' in text:  # markup a macro writes as text (attributes), not words
            return
        if not self._hidden and _WORD.search(text):
            self.found.append(text)


_WORD = re.compile(r"[^\W\d_]{2,}")
# Not words of a language: a time zone, the shape of a code, a CSS class set in a block.
_NOT_WORDS = frozenset({"UTC ·", "XXXX-XXXX-XXXX", "page page--wide"})
TEMPLATE_DIRS = (ROOT / "citizen_card" / "templates", ROOT / "verify" / "templates")


def test_no_template_text_escapes_gettext() -> None:
    """Every word a template shows goes through gettext: Jinja expressions become '§',
    statements and comments go, and what is left must hold no word."""
    escaped = []
    for directory in TEMPLATE_DIRS:
        for path in sorted(directory.rglob("*.html")):
            text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
            text = re.sub(r"\{\{.*?\}\}", "§", text, flags=re.S)
            text = re.sub(r"\{%.*?%\}", "", text, flags=re.S).replace("<§", "<x")
            parser = _VisibleText()
            parser.feed(text)
            escaped += [
                f"{path.relative_to(ROOT)}: {t[:60]!r}" for t in parser.found if t not in _NOT_WORDS
            ]
    assert not escaped, "text outside gettext:\n" + "\n".join(escaped)


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_every_catalogue_names_its_review_state(path: Path) -> None:
    header = path.read_text(encoding="utf-8").split("msgid", 1)[0]
    assert re.search(r"^# Review state: \S", header, re.M), (
        f"{path.relative_to(ROOT)} lacks a '# Review state: …' line in its header comment"
    )


@pytest.mark.parametrize("path", CATALOGUES, ids=_catalogue_id)
def test_every_catalogue_is_compiled(path: Path) -> None:
    compiled = path.with_suffix(".mo")
    assert compiled.exists() and compiled.stat().st_mtime >= path.stat().st_mtime - 1, (
        f"{compiled.relative_to(ROOT)} is missing or older than its .po: "
        "run .venv/bin/pybabel compile -d citizen_card/translations"
    )
