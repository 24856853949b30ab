"""Trust: issuer JWKS and trust lists from dicts, files and http URLs, strictly validated."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verify.credential import Ed25519Signer, jwk_thumbprint_kid, kid_to_text
from verify.trust import TrustError, TrustStore, load_trust


def test_lookup_by_kid_gives_issuer_key_and_state(
    trust: TrustStore,
    issuer_key: Ed25519PrivateKey,
    retired_key: Ed25519PrivateKey,
    revoked_key: Ed25519PrivateKey,
    other_city_key: Ed25519PrivateKey,
) -> None:
    def state(key: Ed25519PrivateKey) -> tuple[str, str, bool]:
        found = trust.lookup(jwk_thumbprint_kid(key.public_key()))
        assert found is not None
        return found.issuer.issuer_id, found.state, found.public_key is not None

    assert state(issuer_key) == ("LIS", "active", True)
    assert state(retired_key) == ("LIS", "retired", True)
    assert state(revoked_key) == ("LIS", "revoked", False)
    assert state(other_city_key) == ("OPO", "active", True)
    assert trust.lookup(b"\x00" * 6) is None


def test_issuer_metadata(trust: TrustStore) -> None:
    lisboa = trust.issuer("LIS")
    assert lisboa is not None
    assert (lisboa.name, lisboa.verify_url) == ("Lisboa", "https://verify.city.example")
    assert lisboa.status_url(7) == "https://verify.city.example/status/7"
    assert trust.issuer("lis") is None
    assert [issuer.issuer_id for issuer in trust.issuers] == ["LIS", "OPO"]


def test_revoked_listing_wins_over_a_listed_key(
    make_jwks: Callable[..., dict[str, Any]], issuer_key: Ed25519PrivateKey
) -> None:
    store = TrustStore.from_jwks(make_jwks(issuer_key, revoked=(issuer_key,)))
    found = store.lookup(jwk_thumbprint_kid(issuer_key.public_key()))
    assert found is not None and found.state == "revoked"


def _break(jwks: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(jwks)
    target: Any = broken
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return broken


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("keys.0.kty", "EC"),
        ("keys.0.crv", "Ed448"),
        ("keys.0.x", "AAAA"),  # 3 bytes
        ("keys.0.x", "not base64!"),
        ("keys.0.x", KeyError),
        ("keys.0.kid", "AAAAAAAA"),  # not the key's thumbprint
        ("keys.0.kid", KeyError),
        ("keys.0.alg", "ES256"),
        ("keys.0.use", "enc"),
        ("keys.0.status", "revoked"),
        ("keys.0.d", "c2VjcmV0"),  # private key material published by mistake
        ("keys", {}),
        ("keys", KeyError),
        ("iss", "../etc"),
        ("iss", "X" * 17),
        ("iss", KeyError),
        ("issuer_name", ""),
        ("verify_url", "https://verify.city.example/path"),
        ("verify_url", "javascript:alert(1)"),
        ("verify_url", KeyError),
        ("revoked_kids", ["short"]),
        ("revoked_kids", [42]),
        ("revoked_kids", "AAAAAAAA"),
    ],
)
def test_invalid_jwks_is_refused(jwks: dict[str, Any], path: str, value: Any) -> None:
    with pytest.raises(TrustError):
        TrustStore.from_jwks(_break(jwks, path, value))


def test_extra_members_are_allowed(jwks: dict[str, Any]) -> None:
    extended = {**jwks, "published_at": "2027-01-01", "keys": [{**jwks["keys"][0], "x5c": []}]}
    assert TrustStore.from_jwks(extended).issuer("LIS") is not None


def test_duplicate_issuer_or_shared_kid_is_refused(
    jwks: dict[str, Any], make_jwks: Callable[..., dict[str, Any]], issuer_key: Ed25519PrivateKey
) -> None:
    with pytest.raises(TrustError, match="twice"):
        TrustStore.from_jwks([jwks, jwks])
    with pytest.raises(TrustError, match="both"):
        TrustStore.from_jwks([jwks, make_jwks(issuer_key, iss="OPO")])


def test_load_from_dict_file_and_trust_list_file(
    tmp_path: Path,
    jwks: dict[str, Any],
    make_jwks: Callable[..., dict[str, Any]],
    other_city_key: Ed25519PrivateKey,
) -> None:
    assert load_trust(jwks).issuer("LIS") is not None
    single = tmp_path / "jwks.json"
    single.write_text(json.dumps(jwks))
    assert [i.issuer_id for i in load_trust(single).issuers] == ["LIS"]
    assert [i.issuer_id for i in load_trust(str(single)).issuers] == ["LIS"]
    porto = make_jwks(other_city_key, iss="OPO", verify_url="https://verify.porto.example")
    listed = tmp_path / "trust.json"
    listed.write_text(json.dumps({"issuers": [jwks, porto]}))
    assert [i.issuer_id for i in load_trust(listed).issuers] == ["LIS", "OPO"]


@pytest.mark.parametrize(
    "content",
    [
        None,
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"\xff\xfe",
        b"{}",
        b"[" * 5000 + b"]" * 5000,  # deeper than Python's recursion limit
        b'{"keys": [], "n": ' + b"9" * 5000 + b"}",  # more digits than Python converts
    ],
)
def test_unreadable_or_invalid_files_raise_trust_error(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "trust.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TrustError):
        load_trust(path)


class _JsonServer:
    def __init__(self, documents: dict[str, Any]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                document = documents.get(self.path)
                if document is None:
                    self.send_error(404)
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def jwks_server(jwks: dict[str, Any]) -> Iterator[_JsonServer]:
    server = _JsonServer({"/.well-known/jwks.json": jwks})
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join()


def test_load_from_http_url(jwks_server: _JsonServer) -> None:
    store = load_trust(f"{jwks_server.base}/.well-known/jwks.json")
    assert [i.issuer_id for i in store.issuers] == ["LIS"]


def test_http_errors_raise_trust_error(jwks_server: _JsonServer) -> None:
    with pytest.raises(TrustError, match="cannot fetch"):
        load_trust(f"{jwks_server.base}/missing.json")


def test_kid_text_in_jwks_matches_signer(
    jwks: dict[str, Any], issuer_key: Ed25519PrivateKey
) -> None:
    assert jwks["keys"][0]["kid"] == kid_to_text(Ed25519Signer(issuer_key).kid)


def test_a_published_jwks_reads_back_as_the_same_issuer() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from verify.credential import jwk_thumbprint_kid
    from verify.trust import Issuer, jwks_document, parse_jwks

    active, retired, revoked = (Ed25519PrivateKey.generate().public_key() for _ in range(3))
    issuer = Issuer(
        issuer_id="LIS",
        name="Lisboa",
        verify_url="https://verify.lisboa.example",
        keys={jwk_thumbprint_kid(active): active, jwk_thumbprint_kid(retired): retired},
        retired_kids=frozenset({jwk_thumbprint_kid(retired)}),
        revoked_kids=frozenset({jwk_thumbprint_kid(revoked)}),
    )
    document = jwks_document(issuer)
    assert all("d" not in jwk for jwk in document["keys"])
    again = parse_jwks(document)
    assert (again.issuer_id, again.name, again.verify_url) == ("LIS", "Lisboa", issuer.verify_url)
    assert again.retired_kids == issuer.retired_kids
    assert again.revoked_kids == issuer.revoked_kids
    assert {kid: key.public_bytes_raw() for kid, key in again.keys.items()} == {
        kid: key.public_bytes_raw() for kid, key in issuer.keys.items()
    }
