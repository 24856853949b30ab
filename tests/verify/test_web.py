"""verify.web over HTTP: the JSON API, public files, pages and the service worker.

The server checks against the wall clock, so tokens here are made relative to
``time.time()`` rather than the fixed NOW of the other verify tests.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient

from verify.credential import (
    REASONS,
    CardClaims,
    Ed25519Signer,
    encode_token,
    kid_to_text,
    qr_text,
)
from verify.status import STATUS_REVOKED, STATUS_SUSPENDED, StatusBits, encode_status_list
from verify.web import (
    CONTENT_SECURITY_POLICY,
    EXTENSION_KEY,
    MAX_VERIFY_BODY_BYTES,
    StaticVerifierBackend,
    VerifierBackend,
    VerifierPolicy,
    create_verifier_app,
)

BASE_URL = "https://verify.city.example"
LIST_ID = 3
VALID_INDEX = 10
REVOKED_INDEX = 11
SUSPENDED_INDEX = 12


@dataclass
class City:
    """A stand-alone verifier on disk: JWKS files, a status directory, a signer."""

    app: Flask
    backend: StaticVerifierBackend
    signer: Ed25519Signer
    status_dir: Path
    card_number: str

    def token(self, signer: Ed25519Signer | None = None, **overrides: Any) -> str:
        now = int(time.time())
        values: dict[str, Any] = {
            "issuer": "LIS",
            "issued_at": now - 86400,
            "expires_at": now + 365 * 86400,
            "card_number": self.card_number,
            "name": "Maria da Conceição Silva",
            "status_list": LIST_ID,
            "status_index": VALID_INDEX,
        }
        values.update(overrides)
        return encode_token(CardClaims(**values), signer or self.signer)

    def publish(self, bits: StatusBits, list_id: int = LIST_ID, signed_ago: int = 0) -> bytes:
        return self.publish_for("LIS", BASE_URL, self.signer, bits, list_id, signed_ago)

    def publish_for(
        self,
        issuer_id: str,
        base_url: str,
        signer: Ed25519Signer,
        bits: StatusBits | None = None,
        list_id: int = LIST_ID,
        signed_ago: int = 0,
    ) -> bytes:
        """Save a list as a verifier keeps them, signed ``signed_ago`` seconds ago and
        valid 7 days from then, as the issuer signs them."""
        signed_at = int(time.time()) - signed_ago
        data = encode_status_list(
            bits or StatusBits(),
            uri=f"{base_url}/status/{list_id}",
            issued_at=signed_at,
            expires_at=signed_at + 7 * 86400,
            ttl=300,
            signer=signer,
        )
        path = self.status_dir / issuer_id / f"{list_id}.cwt"
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(data)
        temporary.replace(path)
        return data


def jwks_document(key: Ed25519PrivateKey, iss: str, name: str) -> dict[str, Any]:
    signer = Ed25519Signer(key)
    return {
        "iss": iss,
        "issuer_name": name,
        "verify_url": f"https://verify.{name.lower()}.example",
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": base64.urlsafe_b64encode(key.public_key().public_bytes_raw())
                .rstrip(b"=")
                .decode(),
                "kid": kid_to_text(signer.kid),
                "alg": "EdDSA",
                "use": "sig",
                "status": "active",
            }
        ],
        "revoked_kids": [],
    }


def default_bits() -> StatusBits:
    bits = StatusBits()
    bits.set(REVOKED_INDEX, STATUS_REVOKED)
    bits.set(SUSPENDED_INDEX, STATUS_SUSPENDED)
    return bits


@pytest.fixture
def city(
    tmp_path: Path,
    jwks: dict[str, Any],
    signer: Ed25519Signer,
    other_city_key: Ed25519PrivateKey,
    card_number: str,
) -> City:
    own = tmp_path / "jwks.json"
    own.write_text(json.dumps(jwks))
    porto = tmp_path / "porto.json"
    porto.write_text(json.dumps(jwks_document(other_city_key, "OPO", "Porto")))
    backend = StaticVerifierBackend([own, porto], tmp_path / "status")
    created = City(create_verifier_app(backend), backend, signer, tmp_path / "status", card_number)
    created.publish(default_bits())
    return created


@pytest.fixture
def client(city: City) -> FlaskClient:
    return city.app.test_client()


def verify(client: FlaskClient, text: object) -> dict[str, Any]:
    response = client.post("/api/v1/verify", json={"qr": text})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    result: dict[str, Any] = response.get_json()
    return result


# --- the verdict ----------------------------------------------------------------------------


def test_valid_card_gives_the_whole_result(city: City, client: FlaskClient) -> None:
    # Given a current card whose status entry is 0
    token = city.token()

    # When a phone posts the scanned text
    result = verify(client, qr_text(BASE_URL, token))

    # Then the card is valid and the result holds exactly the public fields
    assert result == {
        "valid": True,
        "reason": "ok",
        "name": "Maria da Conceição Silva",
        "latin_name": None,
        "card_number": f"{city.card_number[:4]}-{city.card_number[4:8]}-{city.card_number[8:]}",
        "issued_at": result["issued_at"],
        "expires_at": result["expires_at"],
        "issuer": "Lisboa",
        "issuer_id": "LIS",
        "status_checked_at": result["status_checked_at"],
        "status_age_seconds": result["status_age_seconds"],
    }
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", result["expires_at"])
    # The list was published just now (in the fixture): checked against it, seconds old.
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", result["status_checked_at"])
    assert 0 <= result["status_age_seconds"] < 60


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"status_index": REVOKED_INDEX}, "revoked"),
        ({"status_index": SUSPENDED_INDEX}, "suspended"),
        ({"issued_at": 1_600_000_000, "expires_at": 1_700_000_000}, "expired"),
        ({"issued_at": int(time.time()) + 86400 * 30}, "not_yet_valid"),
        ({"issuer": "XYZ"}, "unknown_issuer"),
    ],
)
def test_claims_give_exact_reasons(
    client: FlaskClient, city: City, overrides: dict[str, Any], reason: str
) -> None:
    result = verify(client, city.token(**overrides))

    assert result["valid"] is False
    assert result["reason"] == reason


def test_tampered_token_is_bad_signature(client: FlaskClient, city: City) -> None:
    token = city.token()
    # Flip one symbol inside the signature, the last 64 bytes of the token.
    position = len(token) - 20
    tampered = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]

    result = verify(client, tampered)

    assert result == {**result, "valid": False, "reason": "bad_signature", "name": None}


def test_key_states(
    client: FlaskClient,
    city: City,
    retired_key: Ed25519PrivateKey,
    revoked_key: Ed25519PrivateKey,
) -> None:
    unknown = Ed25519Signer(Ed25519PrivateKey.from_private_bytes(bytes([99]) * 32))

    assert verify(client, city.token(Ed25519Signer(retired_key)))["reason"] == "ok"
    assert verify(client, city.token(Ed25519Signer(revoked_key)))["reason"] == "key_revoked"
    assert verify(client, city.token(unknown))["reason"] == "unknown_key"


def test_trusted_other_city_card_is_checked_by_the_server(
    client: FlaskClient, city: City, other_city_key: Ed25519PrivateKey
) -> None:
    token = city.token(Ed25519Signer(other_city_key), issuer="OPO")
    # Porto's cards are judged by Porto's list, saved beside Lisboa's.
    assert verify(client, token)["reason"] == "status_unknown"
    city.publish_for("OPO", "https://verify.porto.example", Ed25519Signer(other_city_key))

    result = verify(client, token)

    assert (result["reason"], result["issuer"]) == ("ok", "Porto")


@pytest.mark.parametrize(
    "text",
    ["", "hello", "#", "HTTPS://EVIL.EXAMPLE/X#AAAA", "A" * 5000, "😀", "AAAAAAA=", "\x00"],
)
def test_garbage_text_is_malformed_not_an_error(client: FlaskClient, text: str) -> None:
    assert verify(client, text) == {
        "valid": False,
        "reason": "malformed",
        "name": None,
        "latin_name": None,
        "card_number": None,
        "issued_at": None,
        "expires_at": None,
        "issuer": None,
        "issuer_id": None,
        "status_checked_at": None,
        "status_age_seconds": None,
    }


@pytest.mark.parametrize(
    ("signed_ago", "reason"),
    [(3600, "ok"), (25 * 3600, "status_unknown"), (8 * 86400, "status_unknown")],
)
def test_an_old_list_cannot_confirm_a_card(
    client: FlaskClient, city: City, signed_ago: int, reason: str
) -> None:
    # The list on disk was not refreshed for a while (the copy job stopped, say).
    city.publish(default_bits(), signed_ago=signed_ago)

    result = verify(client, city.token())

    assert (result["valid"], result["reason"]) == (reason == "ok", reason)
    assert result["name"] == "Maria da Conceição Silva"
    assert signed_ago <= result["status_age_seconds"] < signed_ago + 60
    # A revocation in the same old list is still a revocation.
    assert verify(client, city.token(status_index=REVOKED_INDEX))["reason"] == "revoked"


def test_no_list_at_all_cannot_confirm(client: FlaskClient, city: City) -> None:
    (city.status_dir / "LIS" / f"{LIST_ID}.cwt").unlink()

    result = verify(client, city.token())

    assert (result["valid"], result["reason"]) == (False, "status_unknown")
    assert (result["status_checked_at"], result["status_age_seconds"]) == (None, None)


def test_the_freshness_window_is_the_backend_setting(
    tmp_path: Path, city: City, jwks: dict[str, Any]
) -> None:
    city.publish(default_bits(), signed_ago=3 * 3600)
    strict = StaticVerifierBackend(
        [tmp_path / "jwks.json"],
        city.status_dir,
        policy=VerifierPolicy(status_max_age_seconds=3600),
    )
    client = create_verifier_app(strict).test_client()

    assert verify(client, city.token())["reason"] == "status_unknown"
    assert verify(city.app.test_client(), city.token())["reason"] == "ok"


@pytest.mark.parametrize(("max_age", "clear"), [(59, 30), (3600, 0), (-1, 30)])
def test_a_policy_out_of_range_is_refused(max_age: int, clear: int) -> None:
    with pytest.raises(ValueError):
        VerifierPolicy(status_max_age_seconds=max_age, verdict_clear_seconds=clear)


def test_revocation_on_disk_is_seen_by_the_next_request(client: FlaskClient, city: City) -> None:
    token = city.token()
    assert verify(client, token)["reason"] == "ok"

    bits = default_bits()
    bits.set(VALID_INDEX, STATUS_REVOKED)
    city.publish(bits)

    assert verify(client, token)["reason"] == "revoked"


def test_only_aggregate_counts_are_kept(client: FlaskClient, city: City) -> None:
    verify(client, city.token())
    verify(client, city.token(status_index=REVOKED_INDEX))
    verify(client, "nonsense")

    (day_counts,) = city.backend.counts.values()
    assert dict(day_counts) == {"ok": 1, "revoked": 1, "malformed": 1}


def test_the_token_never_reaches_the_log(
    client: FlaskClient, city: City, caplog: pytest.LogCaptureFixture
) -> None:
    token = city.token()
    caplog.set_level(logging.DEBUG)

    verify(client, qr_text(BASE_URL, token))
    verify(client, token[:-3])
    client.post("/api/v1/verify", data=token)  # not JSON: an error path
    client.get(f"/v#{token}")

    logged = "\n".join(f"{record.getMessage()} {record.args!r}" for record in caplog.records)
    assert token[:40] not in logged
    assert "Maria" not in logged


# --- bad requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"not json", "application/json", 400, "invalid_json"),
        (b"\xff\xfe\x00", "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "invalid_json"),
        (b"[1, 2]", "application/json", 400, "invalid_request"),
        (b'"qr"', "application/json", 400, "invalid_request"),
        (b"{}", "application/json", 400, "invalid_request"),
        (b'{"qr": 5}', "application/json", 400, "invalid_request"),
        (b'{"qr": null}', "application/json", 400, "invalid_request"),
        (b'{"qr": ["a"]}', "application/json", 400, "invalid_request"),
        (b"[" * 100_000, "application/json", 413, "too_large"),
        (b"[" * 5000 + b"]" * 5000, "application/json", 413, "too_large"),
        # Deep nesting under the size cap: json's recursion limit, still a clean 400.
        (b"[" * 4000 + b"]" * 4000, "application/json", 400, "invalid_json"),
        (b'{"qr": "' + b"A" * MAX_VERIFY_BODY_BYTES + b'"}', "application/json", 413, "too_large"),
        (b"qr=ABC", "application/x-www-form-urlencoded", 400, "invalid_json"),
    ],
)
def test_bad_bodies_get_json_errors(
    client: FlaskClient, body: bytes, content_type: str, status: int, code: str
) -> None:
    response = client.post("/api/v1/verify", data=body, content_type=content_type)

    assert response.status_code == status
    assert response.get_json()["error"] == code
    assert response.get_json()["message"]


def test_json_without_content_type_is_accepted(client: FlaskClient, city: City) -> None:
    response = client.post("/api/v1/verify", data=json.dumps({"qr": city.token()}))

    assert response.get_json()["reason"] == "ok"


def test_wrong_method_on_the_api_is_a_json_405(client: FlaskClient) -> None:
    response = client.get("/api/v1/verify")

    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"


# --- public files ---------------------------------------------------------------------------


def test_status_list_is_served_with_etag_and_short_cache(client: FlaskClient, city: City) -> None:
    response = client.get(f"/status/{LIST_ID}")

    assert response.status_code == 200
    assert response.content_type == "application/statuslist+cwt"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and len(etag) > 10

    again = client.get(f"/status/{LIST_ID}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""

    bits = default_bits()
    bits.set(VALID_INDEX, STATUS_REVOKED)
    city.publish(bits)
    changed = client.get(f"/status/{LIST_ID}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_missing_status_list_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/status/999999999999")

    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_jwks_has_the_published_shape(client: FlaskClient, jwks: dict[str, Any]) -> None:
    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = response.get_json()
    assert document == jwks
    assert {"iss", "issuer_name", "verify_url", "keys", "revoked_kids"} <= set(document)
    for jwk in document["keys"]:
        assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use", "status"}
        assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == (
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        )
        assert jwk["status"] in ("active", "retired")
        assert len(jwk["kid"]) == 8

    cached = client.get(
        "/.well-known/jwks.json", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert cached.status_code == 304


def test_issuer_metadata(client: FlaskClient) -> None:
    metadata = client.get("/.well-known/citizen-card-issuer").get_json()

    assert metadata["issuer"] == "LIS"
    assert metadata["issuer_name"] == "Lisboa"
    assert metadata["jwks_uri"] == f"{BASE_URL}/.well-known/jwks.json"
    assert metadata["status_lists"] == [f"{BASE_URL}/status/{LIST_ID}"]


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v", "/V", "/scan"])
def test_pages_carry_config_and_no_inline_script(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = response.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'type="module" src="/verify-static/' in tag or 'type="application/json"' in tag
    assert " style=" not in html and "onclick" not in html
    config_text = re.search(
        r'<script type="application/json" id="verify-config">(.*?)</script>', html, re.S
    )
    assert config_text is not None
    config = json.loads(config_text.group(1))
    verdicts = config["strings"]["verdicts"]
    assert set(verdicts) == set(REASONS)
    # Every verdict has its own heading and next step; only "ok" is called valid.
    assert all(verdict["title"] and verdict["next"] for verdict in verdicts.values())
    assert config["policy"] == {"status_max_age_seconds": 86400, "verdict_clear_seconds": 30}
    assert config["urls"]["status"] == "/status/{id}"
    assert 'aria-live="polite"' in html
    assert '<main id="main"' in html


def test_static_files_and_decoder_licence_are_served(client: FlaskClient) -> None:
    for name in ("credential.js", "verdict.js", "verify.js", "scan.js", "verify.css"):
        with client.get(f"/verify-static/{name}") as response:  # closes the sent file
            assert response.status_code == 200
    with client.get("/verify-static/vendor/jsqr/LICENSE") as response:
        assert "Apache License" in response.get_data(as_text=True)


def test_service_worker_is_filled_in(client: FlaskClient) -> None:
    response = client.get("/verify-sw.js")

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    source = response.get_data(as_text=True)
    assert "__PRECACHE__" not in source and "__VERSION__" not in source
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", source).group(1))  # type: ignore[union-attr]
    assert {"/V", "/v", "/scan", "/.well-known/jwks.json", f"/status/{LIST_ID}"} <= set(precache)
    assert "/verify-static/credential.js" in precache


# --- wiring -------------------------------------------------------------------------------


def test_static_backend_satisfies_the_protocol(city: City) -> None:
    assert isinstance(city.backend, VerifierBackend)
    assert city.app.extensions[EXTENSION_KEY] is city.backend


def test_healthz(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200


# --- the browser twin ------------------------------------------------------------------------


def test_browser_verifier_constants_match_the_python_format() -> None:
    """credential.js re-implements the format for the browser; catch drift without one.

    The browser tests (tests/e2e) check behaviour; this catches a renamed claim or a
    changed limit even where no Chromium is installed.
    """
    from verify import credential, status

    source = (Path(credential.__file__).parent / "static" / "credential.js").read_text()
    constants = {
        name: json.loads(value)
        for name, value in re.findall(
            r"^(?:export )?const ([A-Z_0-9]+) = (-?\d+|\"[^\"]*\");$", source, re.M
        )
    }
    expected = {
        "ALG_EDDSA": credential.ALG_EDDSA,
        "KID_BYTES": credential.KID_BYTES,
        "LIST_SIZE": credential.LIST_SIZE,
        "CLOCK_SKEW_SECONDS": credential.CLOCK_SKEW_SECONDS,
        "CLAIM_ISS": credential.CLAIM_ISS,
        "CLAIM_EXP": credential.CLAIM_EXP,
        "CLAIM_NBF": credential.CLAIM_NBF,
        "CLAIM_IAT": credential.CLAIM_IAT,
        "CLAIM_CTI": credential.CLAIM_CTI,
        "CLAIM_NAME": credential.CLAIM_NAME,
        "CLAIM_STATUS": credential.CLAIM_STATUS,
        "CLAIM_LATIN_NAME": credential.CLAIM_LATIN_NAME,
        "MAX_NAME_CHARS": credential.MAX_NAME_CHARS,
        "STATUS_MAX_AGE_SECONDS": credential.STATUS_MAX_AGE_SECONDS,
        "CLAIM_SUB": status.CLAIM_SUB,
        "CLAIM_TTL": status.CLAIM_TTL,
        "CLAIM_STATUS_LIST": status.CLAIM_STATUS_LIST,
        "STATUS_LIST_TYPE": status.STATUS_LIST_TYP,
        "STATUS_VALID": credential.STATUS_VALID,
        "STATUS_REVOKED": credential.STATUS_REVOKED,
        "STATUS_SUSPENDED": credential.STATUS_SUSPENDED,
        "MAX_TEXT_CHARS": credential.MAX_TEXT_CHARS,
        "MAX_TOKEN_BYTES": credential.MAX_TOKEN_BYTES,
    }
    assert {name: constants.get(name) for name in expected} == expected
    reasons_block = source[source.index("export const REASONS") : source.index("]);")]
    assert set(re.findall(r'"(\w+)"', reasons_block)) == set(credential.REASONS)
