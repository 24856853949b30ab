"""CSV import and export of the places directory, 500 rows at a time, on SQLite and
PostgreSQL: a good file, a file with bad rows (nothing changes), re-imports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from citizen_card.cli import main
from citizen_card.extensions import db
from citizen_card.models import AuditEvent, Place
from citizen_card.services import places, places_csv
from citizen_card.services.places import Languages
from citizen_card.services.places_csv import CsvImportFailed

LANGUAGES = Languages("en", ("en", "fr"))
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ROWS = 500
CATEGORIES = ("library", "health", "sport", "legal_aid", "food")


def good_rows(count: int = ROWS) -> list[dict[str, str]]:
    rows = []
    for i in range(count):
        located = i % 3 != 0
        rows.append(
            {
                "ref": f"place-{i:04d}",
                "published": "yes" if i % 4 else "no",
                "category": CATEGORIES[i % len(CATEGORIES)],
                "name_en": f"Place number {i}",
                "name_fr": f"Lieu numéro {i}" if i % 2 else "",
                "benefit_en": f"{i % 50} % off\nwith the card",
                "benefit_fr": "",
                "accessibility_en": "Step-free entrance" if i % 5 == 0 else "",
                "accessibility_fr": "",
                "address": f"{i} Rua da Liberdade, Lisboa",
                "latitude": f"{round(38.7 + i / 10000, 4):g}" if located else "",
                "longitude": f"{round(-9.1 - i / 10000, 4):g}" if located else "",
                "opening_hours": "Mon-Fri 9-17",
                "phone": f"+351 21 {i:03d} 00 00",
                "website": f"https://place-{i}.example.org/" if i % 7 == 0 else "",
            }
        )
    return rows


def to_csv(rows: list[dict[str, str]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def run_import(data: bytes) -> places_csv.ImportReport:
    report = places_csv.import_csv(db.session, data, languages=LANGUAGES, actor=None, now=NOW)
    db.session.commit()
    return report


def failed_import(data: bytes) -> CsvImportFailed:
    with pytest.raises(CsvImportFailed) as caught:
        places_csv.import_csv(db.session, data, languages=LANGUAGES, actor=None, now=NOW)
    db.session.rollback()
    return caught.value


def snapshot() -> tuple[int, int, str]:
    """Places, audit events, and the whole export: anything a failed import may not touch."""
    count = db.session.scalar(select(func.count(Place.id))) or 0
    events = db.session.scalar(select(func.count(AuditEvent.id))) or 0
    return count, events, places_csv.export_csv(db.session, languages=LANGUAGES)


def test_500_rows_import_export_and_reimport(app: Flask) -> None:
    rows = good_rows()
    with app.app_context():
        report = run_import(to_csv(rows))
        assert (report.created, report.updated, report.unchanged) == (ROWS, 0, 0)
        assert db.session.scalar(select(func.count(Place.id))) == ROWS
        published = db.session.scalar(select(func.count(Place.id)).where(Place.published))
        assert published == ROWS - ROWS // 4
        place = db.session.execute(select(Place).where(Place.ref == "place-0007")).scalar_one()
        assert place.category == "sport"
        assert (place.latitude, place.longitude) == (38.7007, -9.1007)
        assert place.website == "https://place-7.example.org/"
        shown = places.view(place, "fr", LANGUAGES)
        assert shown.name.text == "Lieu numéro 7"
        assert shown.benefit is not None and shown.benefit.text == "7 % off\nwith the card"
        creations = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "place.create")
        )
        assert creations == ROWS

        # The export is the import's column set, and re-importing it changes nothing.
        exported = places_csv.export_csv(db.session, languages=LANGUAGES)
        parsed = list(csv.DictReader(io.StringIO(exported)))
        assert list(parsed[0]) == places_csv.columns(LANGUAGES)
        assert parsed == rows
        again = run_import(exported.encode())
        assert (again.created, again.updated, again.unchanged) == (0, 0, ROWS)

        # Changed rows update their places, new refs add places.
        for row in rows[:50]:
            row["benefit_en"] = "Free entry"
        rows += good_rows(ROWS + 10)[ROWS:]
        changed = run_import(to_csv(rows))
        assert (changed.created, changed.updated, changed.unchanged) == (10, 50, ROWS - 50)
        place = db.session.execute(select(Place).where(Place.ref == "place-0003")).scalar_one()
        assert places.view(place, "en", LANGUAGES).benefit == places.Localised("Free entry", "en")


def test_a_bad_row_anywhere_changes_nothing(app: Flask) -> None:
    with app.app_context():
        run_import(to_csv(good_rows()))
        before = snapshot()
        rows = [row | {"benefit_en": "Changed"} for row in good_rows()]
        rows[15]["category"] = "casino"  # line 17 (the header is line 1)
        rows[248]["latitude"] = "123.4"  # line 250
        rows[497]["ref"] = rows[3]["ref"]  # line 499: a ref already on line 5
        rows[498]["name_en"] = ""  # line 500
        rows[499]["published"] = "maybe"  # line 501
        failure = failed_import(to_csv(rows))
        assert failure.count == 5
        assert [(p.line, p.problem.code) for p in failure.problems] == [
            (17, "invalid"),
            (250, "out_of_range"),
            (499, "csv_invalid"),
            (500, "required"),
            (501, "csv_invalid"),
        ]
        assert failure.problems[2].message == "line 499: The ref place-0003 is also on line 5."
        assert failure.problems[0].message.startswith("line 17: Category must be one of: ")
        assert snapshot() == before  # not one of the 495 good rows went in


def test_columns_left_out_stay_as_they_are(app: Flask) -> None:
    with app.app_context():
        run_import(to_csv(good_rows(20)))
        report = run_import(b"ref,published\nplace-0000,yes\nplace-0001,no\n")
        assert (report.created, report.updated, report.unchanged) == (0, 2, 0)
        first = db.session.execute(select(Place).where(Place.ref == "place-0000")).scalar_one()
        assert first.published and first.address == "0 Rua da Liberdade, Lisboa"
        assert places.view(first, "en", LANGUAGES).name.text == "Place number 0"
        # A present but empty cell clears the field.
        run_import(b"ref,website,latitude,longitude\nplace-0000,,,\n")
        db.session.refresh(first)
        assert (first.website, first.latitude, first.longitude) == ("", None, None)


def test_line_numbers_count_lines_of_the_file(app: Flask) -> None:
    data = (
        b"ref,category,name_en,benefit_en\n"
        b'one,library,One,"Free entry\n\non Sundays"\n'
        b"\n"
        b"two,zoo,Two,\n"
    )
    with app.app_context():
        failure = failed_import(data)
        assert [(p.line, p.problem.field) for p in failure.problems] == [(6, "category")]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("data", "line", "text"),
    [
        (b"ref,name_en,colour\n", 1, "Unknown column(s): colour."),
        (b"name_en,category\nA,library\n", 1, "The file needs a ref column."),
        (b"ref,ref\n", 1, "Repeated column(s): ref."),
        (b"", 1, "The file is empty."),
        (b"ref,category,name_en\nok,library,Fine\nbad,library,Caf\xe9\n", 3, "not UTF-8"),
        (b"ref,category,name_en\na,library,A,extra\n", 2, "The line has 4 cells"),
        (b'ref,category,name_en\na,library,"unclosed\n', 2, "not valid CSV"),
        (b"ref,category,name_en\n,library,No ref\n", 2, "The ref is empty"),
    ],
)
def test_a_wrong_file_says_where(app: Flask, data: bytes, line: int, text: str) -> None:
    with app.app_context():
        failure = failed_import(data)
        assert failure.problems[0].line == line
        assert text in failure.problems[0].message
        assert db.session.scalar(select(func.count(Place.id))) == 0


def test_spreadsheet_files_import_and_formulas_do_not_run(app: Flask) -> None:
    rows = [
        {
            "ref": "calc",
            "category": "culture",
            "name_en": '=HYPERLINK("http://x")',
            "address": "-2+3+cmd|' /C calc'!A0",
            "phone": "+351 1",
        },
    ]
    with app.app_context():
        # Semicolons and a byte-order mark, as spreadsheets in many locales save CSV.
        report = run_import(b"\xef\xbb\xbf" + to_csv(rows, delimiter=";"))
        assert report.created == 1
        exported = places_csv.export_csv(db.session, languages=LANGUAGES)
        line = exported.splitlines()[1]
        # Inert in a spreadsheet; a phone number cannot run anything and stays as it is.
        assert "'=HYPERLINK" in line and "'-2+3+cmd" in line and ",+351 1" in line
        assert run_import(exported.encode()).unchanged == 1  # and imported back as it was
        place = db.session.execute(select(Place)).scalar_one()
        assert (place.phone, place.address) == ("+351 1", "-2+3+cmd|' /C calc'!A0")
        assert places.view(place, "en", LANGUAGES).name.text == '=HYPERLINK("http://x")'


def test_the_command_line_imports_and_exports(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    good = tmp_path / "places.csv"
    good.write_bytes(to_csv(good_rows(ROWS)))
    dry = runner.invoke(main, ["places", "import", str(good), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would import: 500 new, 0 changed, 0 unchanged place(s)." in dry.output
    done = runner.invoke(main, ["places", "import", str(good)])
    assert done.exit_code == 0, done.output
    assert "Imported: 500 new" in done.output
    exported = runner.invoke(main, ["places", "export"])
    assert exported.exit_code == 0
    assert exported.output.splitlines()[0] == ",".join(places_csv.columns(LANGUAGES))
    assert len(list(csv.DictReader(io.StringIO(exported.output)))) == ROWS

    rows = good_rows(ROWS)
    rows[99]["longitude"] = "-181"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(to_csv(rows))
    refused = runner.invoke(main, ["places", "import", str(bad)])
    assert refused.exit_code == 1
    # Every benefit cell holds a line break: row 100 starts on line 1 + 99 * 2 + 1 = 200.
    assert "line 200: Longitude must be a number between -180 and 180." in refused.output
    assert "The file has 1 problem(s); nothing was imported." in refused.output
    out = tmp_path / "out.csv"
    assert runner.invoke(main, ["places", "export", "-o", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8") == exported.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Place.id))) == ROWS
