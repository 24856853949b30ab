"""Status lists: the draft's CWT form, read back independently, and the sources."""

from __future__ import annotations

import random
import threading
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verify.credential import Ed25519Signer, sign1_encode, verify_text
from verify.status import (
    LIST_SIZE,
    STATUS_REVOKED,
    STATUS_SUSPENDED,
    STATUS_VALID,
    FileStatusSource,
    HttpStatusSource,
    StatusBits,
    StatusListError,
    decode_status_list,
    encode_status_list,
)
from verify.trust import TrustStore

NOW = 1_800_000_000
BASE = "https://verify.city.example"


@pytest.fixture
def make_list(signer: Ed25519Signer) -> Callable[..., bytes]:
    def _create(
        entries: dict[int, int] | None = None,
        *,
        list_id: int = 3,
        uri: str | None = None,
        issued_at: int = NOW - 600,
        expires_at: int = NOW + 86400,
        signer_: Ed25519Signer | None = None,
    ) -> bytes:
        bits = StatusBits()
        for index, value in (entries or {}).items():
            bits.set(index, value)
        return encode_status_list(
            bits,
            uri=uri or f"{BASE}/status/{list_id}",
            issued_at=issued_at,
            expires_at=expires_at,
            ttl=3600,
            signer=signer_ or signer,
        )

    return _create


def test_bits_pack_two_per_entry_least_significant_first() -> None:
    bits = StatusBits()
    bits.set(0, STATUS_REVOKED)
    bits.set(1, STATUS_SUSPENDED)
    bits.set(7, 3)
    raw = bits.to_bytes()
    assert raw[0] == 0b00_00_10_01
    assert raw[1] == 0b11_00_00_00
    assert len(raw) == LIST_SIZE // 4
    bits.set(0, STATUS_VALID)
    assert bits.get(0) == STATUS_VALID and bits.get(1) == STATUS_SUSPENDED


@pytest.mark.parametrize("index", [-1, LIST_SIZE])
def test_bits_refuse_indices_outside_the_list(index: int) -> None:
    with pytest.raises(IndexError):
        StatusBits().get(index)
    with pytest.raises(IndexError):
        StatusBits().set(index, 1)


def test_bits_refuse_values_wider_than_two_bits() -> None:
    with pytest.raises(ValueError):
        StatusBits().set(0, 4)


def test_independent_decoding_finds_exactly_the_set_indices(
    make_list: Callable[..., bytes], signer: Ed25519Signer
) -> None:
    rng = random.Random(7)
    entries = {rng.randrange(LIST_SIZE): rng.choice([1, 2]) for _ in range(500)}
    signed = make_list(entries)

    # Read the draft's CWT form by hand: tag 18, protected header, claims, zlib bits.
    tagged = cbor2.loads(signed)
    assert tagged.tag == 18
    protected, unprotected, payload, signature = tagged.value
    assert cbor2.loads(protected) == {1: -8, 4: signer.kid, 16: "application/statuslist+cwt"}
    assert unprotected == {}
    assert len(signature) == 64
    claims = cbor2.loads(payload)
    assert set(claims) == {2, 4, 6, 65533, 65534}
    assert claims[2] == f"{BASE}/status/3"
    assert (claims[6], claims[4], claims[65534]) == (NOW - 600, NOW + 86400, 3600)
    assert claims[65533]["bits"] == 2
    raw = zlib.decompress(claims[65533]["lst"])
    found = {}
    for index in range(len(raw) * 4):
        value = (raw[index // 4] >> (2 * (index % 4))) & 0b11
        if value:
            found[index] = value
    assert found == entries


def test_decode_round_trip(make_list: Callable[..., bytes], trust: TrustStore) -> None:
    status_list = decode_status_list(make_list({9: 1, 131071: 2}), trust, now=NOW)
    assert (status_list.issuer_id, status_list.list_id) == ("LIS", 3)
    assert status_list.uri == f"{BASE}/status/3"
    assert status_list.issued_at == NOW - 600
    assert [status_list.get(i) for i in (8, 9, 131071)] == [0, 1, 2]


def test_expired_list_is_refused(make_list: Callable[..., bytes], trust: TrustStore) -> None:
    with pytest.raises(StatusListError) as caught:
        decode_status_list(make_list(expires_at=NOW), trust, now=NOW)
    assert caught.value.reason == "expired"


def test_expired_list_is_kept_when_asked(
    make_list: Callable[..., bytes], trust: TrustStore
) -> None:
    # Sources keep old lists: a revocation in them is still true; freshness is judged
    # by the verifier, never by whether a list could be decoded.
    status_list = decode_status_list(
        make_list({7: STATUS_REVOKED}, issued_at=NOW - 8 * 86400, expires_at=NOW - 86400),
        trust,
        now=NOW,
        allow_expired=True,
    )
    assert (status_list.expires_at, status_list.get(7)) == (NOW - 86400, STATUS_REVOKED)


def test_tampered_list_is_refused(make_list: Callable[..., bytes], trust: TrustStore) -> None:
    data = bytearray(make_list({5: 1}))
    data[-1] ^= 1
    with pytest.raises(StatusListError) as caught:
        decode_status_list(bytes(data), trust, now=NOW)
    assert caught.value.reason == "bad_signature"


def test_list_signed_by_unknown_key_is_refused(
    make_list: Callable[..., bytes], trust: TrustStore
) -> None:
    stranger = Ed25519Signer(Ed25519PrivateKey.generate())
    with pytest.raises(StatusListError) as caught:
        decode_status_list(make_list(signer_=stranger), trust, now=NOW)
    assert caught.value.reason == "unknown_key"


def test_list_signed_by_revoked_key_is_refused(
    make_list: Callable[..., bytes], trust: TrustStore, revoked_key: Ed25519PrivateKey
) -> None:
    with pytest.raises(StatusListError) as caught:
        decode_status_list(make_list(signer_=Ed25519Signer(revoked_key)), trust, now=NOW)
    assert caught.value.reason == "key_revoked"


@pytest.mark.parametrize(
    "uri",
    [
        "https://verify.porto.example/status/3",  # another city's list, signed by Lisboa
        f"{BASE}/status/03",
        f"{BASE}/status/",
        f"{BASE}/status/3/",
        f"{BASE}/other/3",
    ],
)
def test_list_uri_must_belong_to_the_signer(
    make_list: Callable[..., bytes], trust: TrustStore, uri: str
) -> None:
    with pytest.raises(StatusListError) as caught:
        decode_status_list(make_list(uri=uri), trust, now=NOW)
    assert caught.value.reason == "malformed"


def test_card_token_is_not_a_status_list(make_token: Callable[..., str], trust: TrustStore) -> None:
    from verify.credential import token_bytes

    with pytest.raises(StatusListError) as caught:
        decode_status_list(token_bytes(make_token()), trust, now=NOW)
    assert caught.value.reason == "malformed"


def _signed_claims(issuer_key: Ed25519PrivateKey, signer: Ed25519Signer, claims: Any) -> bytes:
    protected = {1: -8, 4: signer.kid, 16: "application/statuslist+cwt"}
    return sign1_encode(protected, {}, cbor2.dumps(claims, canonical=True), issuer_key.sign)


@pytest.mark.parametrize(
    "lst",
    [
        zlib.compress(bytes(LIST_SIZE // 4 - 1)),  # one byte short
        zlib.compress(bytes(LIST_SIZE // 4 + 1)),
        zlib.compress(bytes(LIST_SIZE // 4))[:-1],  # truncated stream
        b"not zlib",
        zlib.compress(bytes(10 * LIST_SIZE)),  # a small bomb: refuse without inflating it all
    ],
)
def test_lst_must_inflate_to_exactly_one_list(
    issuer_key: Ed25519PrivateKey, signer: Ed25519Signer, trust: TrustStore, lst: bytes
) -> None:
    claims = {2: f"{BASE}/status/3", 6: NOW, 4: NOW + 60, 65534: 60, 65533: {"bits": 2, "lst": lst}}
    with pytest.raises(StatusListError) as caught:
        decode_status_list(_signed_claims(issuer_key, signer, claims), trust, now=NOW)
    assert caught.value.reason == "malformed"


def test_one_bit_lists_are_refused(
    issuer_key: Ed25519PrivateKey, signer: Ed25519Signer, trust: TrustStore
) -> None:
    lst = zlib.compress(bytes(LIST_SIZE // 8))
    claims = {2: f"{BASE}/status/3", 6: NOW, 4: NOW + 60, 65534: 60, 65533: {"bits": 1, "lst": lst}}
    with pytest.raises(StatusListError, match="2-bit"):
        decode_status_list(_signed_claims(issuer_key, signer, claims), trust, now=NOW)


def test_file_source_reads_saved_lists(
    tmp_path: Path,
    make_list: Callable[..., bytes],
    trust: TrustStore,
    make_token: Callable[..., str],
) -> None:
    (tmp_path / "LIS").mkdir()
    (tmp_path / "LIS" / "3.cwt").write_bytes(make_list({4242: STATUS_SUSPENDED}))
    source = FileStatusSource(tmp_path, trust, now=lambda: NOW)
    assert source.get("LIS", 4) is None
    result = verify_text(make_token(), trust, now=NOW, status=source)
    assert (result.reason, result.status_age_seconds) == ("suspended", 600)


def test_file_source_hands_back_an_expired_list_for_the_verifier_to_judge(
    tmp_path: Path,
    make_list: Callable[..., bytes],
    trust: TrustStore,
    make_token: Callable[..., str],
) -> None:
    (tmp_path / "LIS").mkdir()
    saved = tmp_path / "LIS" / "3.cwt"
    saved.write_bytes(make_list({4242: STATUS_REVOKED}, issued_at=NOW - 8 * 86400, expires_at=NOW))
    source = FileStatusSource(tmp_path, trust, now=lambda: NOW)
    revoked = verify_text(make_token(), trust, now=NOW, status=source)
    assert (revoked.reason, revoked.status_age_seconds) == ("revoked", 8 * 86400)

    saved.write_bytes(make_list({}, issued_at=NOW - 8 * 86400, expires_at=NOW))
    unknown = verify_text(make_token(), trust, now=NOW, status=source)
    assert (unknown.valid, unknown.reason, unknown.status_checked_at) == (
        False,
        "status_unknown",
        NOW - 8 * 86400,
    )


def test_file_source_refuses_a_list_saved_under_the_wrong_id(
    tmp_path: Path, make_list: Callable[..., bytes], trust: TrustStore
) -> None:
    (tmp_path / "LIS").mkdir()
    (tmp_path / "LIS" / "4.cwt").write_bytes(make_list({4242: 1}, list_id=3))
    with pytest.raises(StatusListError):
        FileStatusSource(tmp_path, trust, now=lambda: NOW).get("LIS", 4)


class _ListServer:
    """Serves status lists on 127.0.0.1; ``lists`` maps URL paths to bytes."""

    def __init__(self) -> None:
        self.lists: dict[str, bytes] = {}
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                body = owner.lists.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/statuslist+cwt")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _ListServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.thread.is_alive():
            return  # already stopped by the test
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def list_server() -> Iterator[_ListServer]:
    with _ListServer() as server:
        yield server


def test_http_source_fetches_caches_and_falls_back(
    tmp_path: Path,
    list_server: _ListServer,
    issuer_key: Ed25519PrivateKey,
    make_jwks: Callable[..., dict[str, Any]],
    make_list: Callable[..., bytes],
    make_token: Callable[..., str],
) -> None:
    trust = TrustStore.from_jwks(make_jwks(issuer_key, verify_url=list_server.base))
    uri = f"{list_server.base}/status/3"
    list_server.lists["/status/3"] = make_list({4242: STATUS_REVOKED}, uri=uri)
    clock = [NOW]
    source = HttpStatusSource(trust, tmp_path, now=lambda: clock[0])

    result = verify_text(make_token(), trust, now=NOW, status=source)
    assert (result.reason, result.status_age_seconds) == ("revoked", 600)
    assert (tmp_path / "LIS" / "3.cwt").read_bytes() == list_server.lists["/status/3"]
    assert source.get("LIS", 3) is not None
    assert list_server.requests == ["/status/3"]  # the second look was within ttl

    # Past the ttl the source asks again; the issuer is unreachable (404), so the cached
    # copy is used and its age shows how stale the answer is.
    del list_server.lists["/status/3"]
    clock[0] = NOW + 7200
    result = verify_text(make_token(), trust, now=clock[0], status=source)
    assert (result.reason, result.status_age_seconds) == ("revoked", 7800)
    assert list_server.requests == ["/status/3", "/status/3"]

    # Past the list's exp (a day after it was signed here) the saved copy is still
    # handed back: its revocation holds.
    clock[0] = NOW + 2 * 86400
    result = verify_text(make_token(), trust, now=clock[0], status=source)
    assert (result.reason, result.status_age_seconds) == ("revoked", 2 * 86400 + 600)

    # A fresh process with only the disk cache, and the network down entirely.
    list_server.__exit__()
    fresh = HttpStatusSource(trust, tmp_path, timeout=2, now=lambda: clock[0])
    status_list = fresh.get("LIS", 3)
    assert status_list is not None and status_list.get(4242) == STATUS_REVOKED
    assert (
        HttpStatusSource(trust, tmp_path / "empty", timeout=2, now=lambda: NOW).get("LIS", 3)
        is None
    )


def test_http_source_raises_for_a_bad_list_when_nothing_is_cached(
    list_server: _ListServer,
    issuer_key: Ed25519PrivateKey,
    make_jwks: Callable[..., dict[str, Any]],
    make_list: Callable[..., bytes],
) -> None:
    trust = TrustStore.from_jwks(make_jwks(issuer_key, verify_url=list_server.base))
    tampered = bytearray(make_list({1: 1}, uri=f"{list_server.base}/status/3"))
    tampered[-1] ^= 1
    list_server.lists["/status/3"] = bytes(tampered)
    with pytest.raises(StatusListError) as caught:
        HttpStatusSource(trust, None, now=lambda: NOW).get("LIS", 3)
    assert caught.value.reason == "bad_signature"
    assert HttpStatusSource(trust, None, now=lambda: NOW).get("XXX", 3) is None
