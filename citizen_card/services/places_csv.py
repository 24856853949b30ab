"""The places directory as CSV: export, and import that is all or nothing.

The column set (documented in docs/places.md and README):

    ref, published, category, name_<lang>..., benefit_<lang>..., accessibility_<lang>...,
    address, latitude, longitude, opening_hours, phone, website

with one ``name_``/``benefit_``/``accessibility_`` column per language of the city.
``ref`` is required in every row: a row whose ref exists updates that place, any other
creates one. On update, a column missing from the file leaves that field as it is; an
empty cell clears it. UTF-8 (a byte-order mark is fine), comma or semicolon separated.
Every row is checked before anything is written; one bad row fails the whole import,
with the line number of each problem, and nothing changes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from citizen_card.models import Place, Staff
from citizen_card.services import places
from citizen_card.services.errors import N_, DomainError
from citizen_card.services.places import FieldProblem, Languages, PlaceInvalid
from citizen_card.services.types import DbSession

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
MAX_REPORTED = 50
# Cells a spreadsheet would run as a formula: exported with a leading apostrophe, which
# an import removes again (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_INERT = re.compile(r"[-+0-9 ().,/]*")
TRUE_WORDS = frozenset({"yes", "true", "1", "y"})
FALSE_WORDS = frozenset({"no", "false", "0", "n", ""})


def columns(languages: Languages) -> list[str]:
    """The columns of an export, in order; an import accepts any subset with ``ref``."""
    texts = [f"{name}_{code}" for name in places.TEXT_FIELDS for code in languages.available]
    return [
        "ref",
        "published",
        "category",
        *texts,
        "address",
        "latitude",
        "longitude",
        "opening_hours",
        "phone",
        "website",
    ]


@dataclass(frozen=True)
class LineProblem:
    """What is wrong on one line of the file (1 is the header)."""

    line: int
    problem: DomainError

    @property
    def message(self) -> str:
        return f"line {self.line}: {self.problem.message}"

    def translated(self) -> str:
        from flask_babel import gettext

        problem = self.problem.translated()
        return str(gettext("Line %(line)d: %(problem)s", line=self.line, problem=problem))


class CsvImportFailed(DomainError):
    """The file was refused; ``problems`` lists the first ones, ``count`` all of them."""

    status = 422

    def __init__(self, problems: list[LineProblem], count: int) -> None:
        super().__init__(
            N_("The file has %(count)d problem(s); nothing was imported."),
            "csv_invalid",
            count=count,
        )
        self.problems = problems[:MAX_REPORTED]
        self.count = count


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int


def _problem(line: int, message: str, **params: Any) -> LineProblem:
    return LineProblem(line, DomainError(message, "csv_invalid", **params))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvImportFailed(
            [_problem(line, N_("The file is not UTF-8 text. Save it as CSV UTF-8."))], 1
        ) from exc


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells); quoted cells may span lines."""
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise CsvImportFailed(
            [_problem(line, N_("The line is not valid CSV (%(reason)s)."), reason=str(exc))], 1
        ) from exc


def _unescape(cell: str) -> str:
    if cell.startswith("'") and cell[1:2] and cell[1] in FORMULA_STARTS:
        return cell[1:]
    return cell


def _escape(cell: str) -> str:
    # Digits and punctuation alone cannot call anything: phone numbers and negative
    # coordinates stay as they are.
    if cell.startswith(FORMULA_STARTS) and not _INERT.fullmatch(cell):
        return "'" + cell
    return cell


def _header(cells: list[str], languages: Languages) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    known = set(columns(languages))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise CsvImportFailed(
            [
                _problem(
                    1,
                    N_("Unknown column(s): %(columns)s. The columns are: %(known)s."),
                    columns=", ".join(unknown),
                    known=", ".join(columns(languages)),
                )
            ],
            1,
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise CsvImportFailed(
            [_problem(1, N_("Repeated column(s): %(columns)s."), columns=", ".join(repeated))], 1
        )
    if "ref" not in names:
        raise CsvImportFailed([_problem(1, N_("The file needs a ref column."))], 1)
    return names


@dataclass(frozen=True)
class _Row:
    line: int
    values: places.PlaceValues
    published: bool | None
    existing: Place | None


def _published(cell: str | None, line: int) -> tuple[bool | None, LineProblem | None]:
    if cell is None:
        return None, None
    word = cell.strip().lower()
    if word in TRUE_WORDS:
        return True, None
    if word in FALSE_WORDS:
        return False, None
    return None, _problem(line, N_("published must be yes or no, not %(value)s."), value=cell)


def _check(
    session: DbSession, text: str, languages: Languages
) -> tuple[list[_Row], list[LineProblem]]:
    records = _records(text)
    first = next(records, None)
    if first is None:
        raise CsvImportFailed([_problem(1, N_("The file is empty."))], 1)
    names = _header(first[1], languages)
    existing = {place.ref: place for place in session.execute(select(Place)).scalars()}
    rows: list[_Row] = []
    problems: list[LineProblem] = []
    seen: dict[str, int] = {}
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) + len(problems) >= MAX_IMPORT_ROWS:
            problems.append(_problem(line, N_("More than %(count)d rows."), count=MAX_IMPORT_ROWS))
            break
        if len(cells) != len(names):
            problems.append(
                _problem(
                    line,
                    N_("The line has %(cells)d cells; the header has %(columns)d."),
                    cells=len(cells),
                    columns=len(names),
                )
            )
            continue
        cell_of = {name: _unescape(cell) for name, cell in zip(names, cells, strict=True)}
        ref = cell_of["ref"].strip().lower()
        if not ref:
            problems.append(_problem(line, N_("The ref is empty; every row needs one.")))
            continue
        if ref in seen:
            problems.append(
                _problem(
                    line,
                    N_("The ref %(ref)s is also on line %(other)d."),
                    ref=ref,
                    other=seen[ref],
                )
            )
            continue
        seen[ref] = line
        place = existing.get(ref)
        raw: dict[str, Any] = places.form_values(place) if place is not None else {}
        raw.update(cell_of)
        published, problem = _published(cell_of.get("published"), line)
        if problem is not None:
            problems.append(problem)
        try:
            values = places.validate(raw, languages)
        except PlaceInvalid as exc:
            problems += [_field_problem(line, p) for p in exc.problems]
            continue
        if problem is None:
            rows.append(_Row(line, values, published, place))
    return rows, problems


def _field_problem(line: int, problem: FieldProblem) -> LineProblem:
    return LineProblem(line, problem)


def import_csv(
    session: DbSession,
    data: bytes,
    *,
    languages: Languages,
    actor: Staff | None,
    now: datetime,
) -> ImportReport:
    """Create and update places from a CSV file, in the caller's transaction.

    Nothing is written unless every row is right; the caller commits.

    :raises CsvImportFailed: with the line-numbered problems (the first 50).
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise CsvImportFailed(
            [
                _problem(
                    1,
                    N_("The file is larger than %(size)d MB."),
                    size=MAX_IMPORT_BYTES // (1024 * 1024),
                )
            ],
            1,
        )
    rows, problems = _check(session, _decode(data), languages)
    if problems:
        raise CsvImportFailed(problems, len(problems))
    created = updated = 0
    for row in rows:
        if row.existing is None:
            places.create_place(
                session,
                row.values,
                languages=languages,
                actor=actor,
                now=now,
                published=bool(row.published),
                source="csv",
            )
            created += 1
        elif places.update_place(
            session,
            row.existing,
            row.values,
            actor=actor,
            now=now,
            published=row.published,
            source="csv",
        ):
            updated += 1
    session.flush()
    return ImportReport(created=created, updated=updated, unchanged=len(rows) - created - updated)


def export_csv(session: DbSession, *, languages: Languages) -> str:
    """Every place, published or not, ordered by ref, in the import's column set."""
    out = io.StringIO()
    header = columns(languages)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for place in session.execute(select(Place).order_by(Place.ref)).scalars():
        values = places.form_values(place)
        writer.writerow([_escape(values.get(name, "")) for name in header])
    return out.getvalue()
