"""Every page form, posted with what no browser sends: a megabyte in a field, a file
where text belongs, text where a file belongs, bytes that are not UTF-8, NUL characters,
a field given twice. The answer is a page with a message (4xx) or what the form does
(2xx, 3xx); never a 500, whichever database is behind.

Each form's fields are listed below; a page form that is not listed fails the test, so a
new form is tried too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import pytest

from citizen_card.services import city, places
from citizen_card.web import places as web_places
from citizen_card.web import residents
from tests.forms import Part, multipart, text_parts, urlencoded
from tests.security import routes

# The views' own lists where they have one, so a field added there is tried here too.
RESIDENT_FIELDS = (*residents.DETAIL_FIELDS, "evidence", "photo", "photo_kept")
PLACE_FIELDS = (
    *("ref", "category", "address", "latitude", "longitude"),
    *("opening_hours", "phone", "website", "published"),
    *(f"{name}_{code}" for code in ("en", "fr") for name in places.TEXT_FIELDS),
)
# endpoint -> the fields its view reads (request.form, request.files).
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "site.set_language": ("lang", "next"),
    "auth.login": ("username", "password"),
    "auth.login_code": ("code",),
    "auth.logout": (),
    "auth.change_password": ("current_password", "new_password", "confirm_password"),
    "auth.second_factor": ("password", "code"),
    "admin.staff_create": ("username", "role"),
    "admin.staff_set_active": ("active",),
    "admin.staff_reset": (),
    "admin.keys_rotate": (),
    "admin.keys_revoke": ("confirm",),
    "cards.city_settings": (
        *city.EDITABLE,
        *("logo", "remove_logo", "label_language_first", "label_language_second"),
    ),
    "residents.index": ("q",),
    "residents.new": (*RESIDENT_FIELDS, "confirm_duplicate"),
    "residents.edit": RESIDENT_FIELDS,
    "residents.erase": ("confirm",),
    "cards.issue": ("receipt_language",),
    "cards.print_card": (),
    "cards.renew": ("confirm", "receipt_language"),
    "cards.replace": ("reason", "confirm", "receipt_language"),
    "cards.download_code": ("receipt_language",),
    "cards.receipt": ("code", "receipt_language"),
    "cards.suspend": ("confirm",),
    "cards.reinstate": (),
    "cards.revoke": ("reason", "confirm"),
    "cards.hand_over": (),
    "cards.batch_start": ("card",),
    "portal.download": ("card_number", "code"),
    "places.join": (*web_places.JOIN_FIELDS, web_places.HONEYPOT),
    "places.new": PLACE_FIELDS,
    "places.edit": PLACE_FIELDS,
    "places.set_published": ("published", "next_page"),
    "places.import_csv": ("file",),
    "places.decide": ("decision",),
}
# Who posts each form: a role allowed to, the public for public forms.
PREFERRED = ("anonymous", "clerk", "admin", "auditor", "editor")
MEGABYTE = "é" * (512 * 1024)  # 1 MB of UTF-8


@functools.cache
def page_forms() -> list[tuple[str, str, str]]:
    return [
        (endpoint, method, rule)
        for endpoint, method, rule in routes.routes_of(routes.collection_app())
        if method not in ("GET", "HEAD")
        and not routes.is_api(rule)
        and not endpoint.startswith("verify.")
    ]


def shows_an_error(page: str) -> bool:
    # A message (error pages, the counter forms, flashed errors) or an error summary
    # (the places forms, in the GOV.UK pattern), or the question a registration that
    # looks like a duplicate asks (409: the same resident posted again).
    return "message-error" in page or "error-summary" in page or 'id="look-alikes"' in page


def variants(
    base: dict[str, object], fields: tuple[str, ...]
) -> Iterator[tuple[str, tuple[bytes, str]]]:
    """(what is wrong, (body, content type)) for each field of the form."""
    plain = text_parts(base)

    def without(name: str) -> list[Part]:
        return [part for part in plain if part[0] != name]

    yield "as sent", multipart(plain)
    for name in fields:
        yield f"{name}: 1 MB", multipart([*without(name), (name, MEGABYTE.encode(), None)])
        yield f"{name}: a file", multipart([*without(name), (name, b"\x89PNG\r\n", "x.png")])
        yield f"{name}: text", multipart([*without(name), (name, b"not a file", None)])
        yield f"{name}: not UTF-8", multipart([*without(name), (name, b"Jos\xe9 \xff", None)])
        yield f"{name}: bad escapes", urlencoded([*without(name), (name, b"Jos\xe9 \xff", None)])
        yield f"{name}: NUL", urlencoded([*without(name), (name, b"a\x00b", None)])
        yield (
            f"{name}: twice",
            multipart([*without(name), (name, b"a", None), (name, b"b" * 300, None)]),
        )


def test_hostile_form_posts_get_a_page_never_a_500(world: routes.World) -> None:
    unlisted = [f"{endpoint} ({rule})" for endpoint, _m, rule in page_forms()]
    unlisted = [name for name in unlisted if name.split(" ")[0] not in FORM_FIELDS]
    assert not unlisted, f"forms whose fields are not listed above: {', '.join(unlisted)}"
    problems = []
    for endpoint, method, rule in page_forms():
        principal = next(p for p in PREFERRED if p in routes.ACCESS[endpoint])
        targets = routes.make_targets(world)
        path = routes.url_for_rule(world.app, endpoint, targets)
        base = dict(routes.request_body(endpoint, method, targets).get("data", {}))
        base["csrf_token"] = world.csrf_token(principal)
        for wrong, (body, content_type) in variants(base, FORM_FIELDS[endpoint]):
            if endpoint in ("auth.logout", "residents.erase") and wrong == "as sent":
                continue  # it would end the session or erase the target for the rest
            response = world.client(principal).open(
                path, method=method, data=body, content_type=content_type
            )
            html = response.mimetype == "text/html"
            page = response.get_data(as_text=True) if html else ""
            response.close()
            status = response.status_code
            where = f"{method} {rule} as {principal}, {wrong}"
            if status >= 500:
                problems.append(f"{where}: {status}")
            elif status >= 400 and html and not shows_an_error(page):
                problems.append(f"{where}: {status} without a message")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/admin/audit?before=" + "9" * 30, "GET"),
        ("/admin/audit?before=-5", "GET"),
        ("/admin/staff/" + "9" * 30 + "/active", "POST"),
        ("/admin/staff/9223372036854775808/reset", "POST"),
        ("/admin/staff/2147483648/reset", "POST"),
    ],
)
def test_ids_beyond_what_a_column_holds_are_not_found(
    world: routes.World, path: str, method: str
) -> None:
    data = {"csrf_token": world.csrf_token("admin")} if method == "POST" else None
    response = world.client("admin").open(path, method=method, data=data)
    assert response.status_code in (200, 302, 404), path


PATH_VALUES = {
    "NUL": "a%00b",
    "5,000 characters": "A" * 5000,
    "not UTF-8": "%FF%FE",
    "a dot segment": "..",
    "Unicode": "%E2%80%AEcard",
    "a huge number": "9" * 40,
}


@functools.cache
def routes_with_parameters() -> list[tuple[str, str, str]]:
    return [
        route
        for route in routes.routes_of(routes.collection_app())
        if "<" in route[2] and route[0] not in ("static", "verify.static")
    ]


def test_hostile_path_parameters_are_not_found_never_a_500(world: routes.World) -> None:
    # Only hostile values are sent, so one set of real targets serves every route.
    targets = routes.make_targets(world)
    problems = []
    for endpoint, method, rule in routes_with_parameters():
        principal = next(p for p in PREFERRED if p in routes.ACCESS[endpoint])
        real = routes.url_for_rule(world.app, endpoint, targets)
        kwargs = routes.request_body(endpoint, method, targets)
        headers = {}
        if routes.is_api(real) and principal != "anonymous":
            headers["Authorization"] = f"Bearer {world.tokens[principal]}"
        elif method != "GET":
            kwargs.setdefault("data", {})
            kwargs["data"] = dict(kwargs["data"]) | {"csrf_token": world.csrf_token(principal)}
        for parameter in re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule):
            if parameter == "face":
                continue  # <any(front, back)>: werkzeug matches nothing else
            value = str(targets.value(endpoint, parameter))
            for what, hostile in PATH_VALUES.items():
                path = real.replace(f"/{value}", f"/{hostile}", 1)
                response = world.client(principal).open(
                    path, method=method, headers=headers, **kwargs
                )
                response.close()
                if response.status_code >= 500 or response.status_code in (401, 403):
                    where = f"{method} {rule} as {principal}, <{parameter}> {what}"
                    problems.append(f"{where}: {response.status_code}")
    assert not problems, "\n".join(problems)


QUERY_NAMES = ("q", "page", "category", "state", "before", "lang", "next")
QUERY_VALUES = {
    "NUL": "a%00b",
    "not UTF-8": "%FF%FE",
    "a huge number": "9" * 40,
    "a negative number": "-1",
    "10,000 characters": "x" * 10_000,
    "given twice": "a&{name}=b",
}


@functools.cache
def pages_read() -> list[tuple[str, str, str]]:
    return [
        route
        for route in routes.routes_of(routes.collection_app())
        if route[1] == "GET" and route[0] not in ("static", "verify.static")
    ]


def test_hostile_query_strings_never_give_a_500(world: routes.World) -> None:
    targets = routes.make_targets(world)
    problems = []
    for endpoint, _method, rule in pages_read():
        principal = next(p for p in PREFERRED if p in routes.ACCESS[endpoint])
        path = routes.url_for_rule(world.app, endpoint, targets)
        headers = {}
        if routes.is_api(path) and principal != "anonymous":
            headers["Authorization"] = f"Bearer {world.tokens[principal]}"
        for what, value in QUERY_VALUES.items():
            query = "&".join(f"{name}={value.format(name=name)}" for name in QUERY_NAMES)
            response = world.client(principal).get(f"{path}?{query}", headers=headers)
            response.close()
            if response.status_code >= 500:
                problems.append(f"GET {rule} as {principal}, {what}: {response.status_code}")
    assert not problems, "\n".join(problems)
