"""Property: a CSV file built to break the places import gets the import page with a
message (or is imported), never a 500, and a refused file leaves no place behind.

Files are drawn from what spreadsheets and scripts get wrong: other encodings, a NUL,
numbers out of range or not numbers, cells of thousands of characters, thousands of
columns, unbalanced quotes, a byte-order mark, rows longer than the header.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from citizen_card.extensions import db
from citizen_card.models import Place, Staff
from tests.conftest import csrf_token, login
from tests.forms import multipart

HEADER = b"ref,published,category,name_en,address,latitude,longitude,website\n"
CELLS = st.sampled_from(
    [
        b"library",
        b"yes",
        b"1e400",
        b"NaN",
        b"-91",
        b"9" * 400,
        b"a\x00b",
        b"\xff\xfe",
        b"Jos\xe9",
        b'"unbalanced',
        b'"a""b"',
        b"=HYPERLINK()",
        b"x" * 5000,
        b"",
        b"javascript:alert(1)",
        "caf\u00e9".encode(),
    ]
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(
        st.sampled_from(
            [HEADER, b"\xef\xbb\xbf" + HEADER, b"ref\n", b",".join([b"c"] * 3000) + b"\n", b""]
        )
    )
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=12).map(b",".join), max_size=6))
    newline = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    return header + newline.join(rows) + newline


def test_any_csv_gets_the_import_page_or_is_imported(
    app: Flask, make_staff: Callable[..., Staff]
) -> None:
    client: FlaskClient = app.test_client()
    login(client, make_staff("editor"))
    token = csrf_token(client, "/manage/places")

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=csv_files())
    @example(data=HEADER + b"lib\x00rary,yes,library,Name,Street 1,1e400,NaN,x\n")
    @example(data=HEADER + b"ok,yes,library,Jos\xe9,Street,38.7,-9.1,\n")
    def check(data: bytes) -> None:
        with app.app_context():
            before = db.session.scalar(select(func.count(Place.id)))
        body, content_type = multipart(
            [("csrf_token", token.encode(), None), ("file", data, "places.csv")]
        )
        response = client.post("/manage/places/import", data=body, content_type=content_type)
        page = response.get_data(as_text=True)
        assert response.status_code in (302, 413, 422), (response.status_code, data[:200])
        if response.status_code != 302:
            assert "error-summary" in page or "message-error" in page
            with app.app_context():
                assert db.session.scalar(select(func.count(Place.id))) == before

    check()
