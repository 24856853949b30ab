"""Issue a card, then verify it the way a local service does: API, status list, JWKS.

Every status change must show on the verify path at once (same second), without any
per-verification database query, and nothing about the verified card may be stored.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cbor2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from citizen_card import create_app
from citizen_card.config import ConfigError, Settings
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.models import Card, VerificationCount
from citizen_card.services import keyring
from tests.conftest import make_settings
from verify.status import LIST_SIZE
from verify.web import EXTENSION_KEY, VerifierPolicy


def issue(client: FlaskClient, headers: dict[str, str], resident_id: str) -> dict[str, str]:
    response = client.post(f"/api/v1/residents/{resident_id}/cards", headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, str] = response.json
    return body


def verdict(client: FlaskClient, qr: str) -> dict[str, object]:
    response = client.post("/api/v1/verify", json={"qr": qr})
    assert response.status_code == 200
    body: dict[str, object] = response.json
    return body


def test_status_changes_show_on_the_verify_api_at_once(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    card = issue(client, clerk_headers, make_resident())
    ok = verdict(client, card["qr"])
    assert ok["valid"] is True and ok["reason"] == "ok"
    assert ok["name"] == "María José García López"
    assert ok["card_number"] == card["card_number"]
    assert ok["issuer"] == "Lisboa"
    assert set(ok) == {
        "valid",
        "reason",
        "name",
        "latin_name",
        "card_number",
        "issued_at",
        "expires_at",
        "issuer",
        "issuer_id",
        "status_checked_at",
        "status_age_seconds",
    }
    # Checked against the list the issuer holds in memory, signed within the hour.
    assert ok["latin_name"] is None
    assert isinstance(ok["status_age_seconds"], int) and 0 <= ok["status_age_seconds"] < 3600

    number = card["card_number"]
    client.post(f"/api/v1/cards/{number}/suspend", headers=clerk_headers)
    assert verdict(client, card["qr"])["reason"] == "suspended"
    client.post(f"/api/v1/cards/{number}/reinstate", headers=clerk_headers)
    assert verdict(client, card["qr"])["reason"] == "ok"
    client.post(f"/api/v1/cards/{number}/revoke", json={"reason": "lost"}, headers=clerk_headers)
    revoked = verdict(client, card["qr"])
    assert (revoked["valid"], revoked["reason"]) == (False, "revoked")


def test_erasing_a_resident_revokes_their_card_for_verifiers(
    client: FlaskClient, clerk_headers: dict[str, str], make_resident: Callable[..., str]
) -> None:
    resident_id = make_resident()
    card = issue(client, clerk_headers, resident_id)
    assert (
        client.delete(f"/api/v1/residents/{resident_id}", headers=clerk_headers).status_code == 204
    )
    assert verdict(client, card["qr"])["reason"] == "revoked"


def test_verification_queries_no_database(
    app: Flask,
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
) -> None:
    card = issue(client, clerk_headers, make_resident())
    assert verdict(client, card["qr"])["reason"] == "ok"  # warms the in-memory copies
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for _ in range(20):
            assert verdict(client, card["qr"])["reason"] == "ok"
            assert verdict(client, card["qr"][:-3] + "AAA")["valid"] is False
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert statements == []


def test_the_status_list_follows_the_draft_and_holds_exactly_the_revoked(
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    app: Flask,
) -> None:
    cards = [issue(client, clerk_headers, make_resident()) for _ in range(4)]
    client.post(
        f"/api/v1/cards/{cards[0]['card_number']}/revoke",
        json={"reason": "stolen"},
        headers=clerk_headers,
    )
    client.post(f"/api/v1/cards/{cards[1]['card_number']}/suspend", headers=clerk_headers)
    with app.app_context():
        rows = {
            c.number: (c.status_list_id, c.status_index) for c in db.session.scalars(select(Card))
        }
    list_ids = {list_id for list_id, _ in rows.values()}
    assert len(list_ids) == 1
    list_id = list_ids.pop()

    response = client.get(f"/status/{list_id}")
    assert response.status_code == 200
    assert response.mimetype == "application/statuslist+cwt"
    assert "public" in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    assert client.get(f"/status/{list_id}", headers={"If-None-Match": etag}).status_code == 304

    # An independent reading of draft-ietf-oauth-status-list, CWT form.
    sign1 = cbor2.loads(response.data)
    assert sign1.tag == 18
    protected = cbor2.loads(sign1.value[0])
    assert protected[1] == -8 and protected[16] == "application/statuslist+cwt"
    claims = cbor2.loads(sign1.value[2])
    assert claims[2] == f"https://verify.lisboa.example/status/{list_id}"
    assert claims[65534] > 0  # ttl
    assert claims[4] > claims[6]  # exp after iat
    status_list = claims[65533]
    assert status_list["bits"] == 2
    raw = zlib.decompress(status_list["lst"])
    assert len(raw) * 4 == LIST_SIZE
    states = {
        index: (raw[index // 4] >> (2 * (index % 4))) & 0b11
        for index in range(LIST_SIZE)
        if (raw[index // 4] >> (2 * (index % 4))) & 0b11
    }
    numbers = [c["card_number"].replace("-", "") for c in cards]
    assert states == {rows[numbers[0]][1]: 1, rows[numbers[1]][1]: 2}
    assert client.get("/status/999").status_code == 404


def test_jwks_and_issuer_metadata_are_public_and_cacheable(client: FlaskClient) -> None:
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert "public" in jwks.headers["Cache-Control"]
    (key,) = jwks.json["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use", "status"}
    assert (key["kty"], key["crv"], key["alg"], key["status"]) == (
        "OKP",
        "Ed25519",
        "EdDSA",
        "active",
    )
    assert "d" not in key
    metadata = client.get("/.well-known/citizen-card-issuer").json
    assert metadata["issuer"] == "LIS"
    assert metadata["jwks_uri"] == "https://verify.lisboa.example/.well-known/jwks.json"


def test_only_aggregate_counts_are_kept(
    app: Flask,
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
) -> None:
    card = issue(client, clerk_headers, make_resident())
    for _ in range(3):
        verdict(client, card["qr"])
    verdict(client, "HTTPS://VERIFY.LISBOA.EXAMPLE/V#AAAA")
    backend = app.extensions["citizen_card_verifier"]
    backend.flush_counts()
    with app.app_context():
        counts = {row.reason: row.count for row in db.session.scalars(select(VerificationCount))}
    assert counts == {"ok": 3, "malformed": 1}


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", b'{"qr": 5}', b'{"qr": null}', b'{"other": "x"}', b'"just text"'],
)
def test_malformed_verify_requests_get_json_errors(client: FlaskClient, body: bytes) -> None:
    response = client.post(
        "/api/v1/verify", data=body, headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert set(response.json) == {"error", "message"}


def test_verify_is_rate_limited_per_address(client: FlaskClient) -> None:
    codes = [
        client.post(
            "/api/v1/verify", json={"qr": "x"}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
        ).status_code
        for _ in range(121)
    ]
    assert codes[:120] == [200] * 120
    assert codes[120] == 429
    other = client.post(
        "/api/v1/verify", json={"qr": "x"}, environ_base={"REMOTE_ADDR": "10.9.9.8"}
    )
    assert other.status_code == 200


def _dump(app: Flask) -> dict[str, list[tuple[object, ...]]]:
    with app.app_context():
        tables = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(table.select()).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
        return tables


def test_verifying_writes_nothing_about_the_card(
    app: Flask,
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
) -> None:
    card = issue(client, clerk_headers, make_resident())
    before = _dump(app)
    for _ in range(5):
        verdict(client, card["qr"])
    verdict(client, card["qr"][:-4] + "AAAA")
    app.extensions["citizen_card_verifier"].flush_counts()
    after = _dump(app)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"verification_count"}
    written = repr(after["verification_count"]).encode()
    token = card["qr"].split("#")[1]
    for secret in (
        token,
        token[:40],
        card["card_number"],
        card["card_number"].replace("-", ""),
        "García",
    ):
        assert secret.encode() not in written


def test_admins_see_only_daily_counts(
    app: Flask,
    client: FlaskClient,
    clerk_headers: dict[str, str],
    make_resident: Callable[..., str],
    make_staff: Callable[..., object],
) -> None:
    card = issue(client, clerk_headers, make_resident())
    verdict(client, card["qr"])
    verdict(client, card["qr"])
    verdict(client, "garbage")
    from tests.conftest import login

    admin_client = app.test_client()
    login(admin_client, make_staff("admin"))  # type: ignore[arg-type]
    page = admin_client.get("/admin/verifications").get_data(as_text=True)
    assert "<code>ok</code>" in page and "<code>malformed</code>" in page
    assert "<td>2</td>" in page and "<td>1</td>" in page
    assert card["card_number"] not in page


def test_the_freshness_window_and_clearing_delay_are_settings(settings: Settings) -> None:
    assert (settings.status_max_age_hours, settings.verdict_clear_seconds) == (24, 30)
    app = create_app(replace(settings, status_max_age_hours=6, verdict_clear_seconds=45))
    with app.app_context():
        db.create_all()
        keyring.ensure_signing_key(db.session, app_context().settings, now=app_context().now())
        db.session.commit()
    try:
        assert app.extensions[EXTENSION_KEY].policy() == VerifierPolicy(
            status_max_age_seconds=6 * 3600, verdict_clear_seconds=45
        )
        page = app.test_client().get("/scan").get_data(as_text=True)
        assert '"status_max_age_seconds": 21600' in page and '"verdict_clear_seconds": 45' in page
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("name", ["STATUS_MAX_AGE_HOURS", "VERDICT_CLEAR_SECONDS"])
@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_a_window_or_delay_out_of_range_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"CITIZEN_CARD_{name}", value)
    with pytest.raises(ConfigError, match=name):
        make_settings(tmp_path / "instance")
