"""Verification over HTTP: the JSON API, the /v landing page, the /scan desk page, and
the public files a verifier needs (/.well-known/jwks.json, issuer metadata, /status/<id>).

The blueprint takes its keys and lists from a :class:`VerifierBackend` that the host app
puts in ``app.extensions[EXTENSION_KEY]``; the issuing app wires its keyring in, a
stand-alone verifier uses :class:`StaticVerifierBackend` and :func:`create_verifier_app`.
Nothing here imports citizen_card.

Privacy: the card token travels in the URL fragment (never sent to the server) or in a
POST body; no view logs it, and the only record of a check is an aggregate counter.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import Babel
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from verify import language
from verify.credential import REASONS, STATUS_MAX_AGE_SECONDS, verify_text
from verify.page_language import page_dir, page_lang
from verify.page_words import page_strings
from verify.status import FileStatusSource, StatusList, StatusSource
from verify.trust import TrustStore, load_trust

__all__ = [
    "API_VERIFY_ENDPOINT",
    "CONTENT_SECURITY_POLICY",
    "EXTENSION_KEY",
    "MAX_VERIFY_BODY_BYTES",
    "RATE_LIMITED_ENDPOINTS",
    "StaticVerifierBackend",
    "VerifierBackend",
    "VerifierPolicy",
    "api_verify",
    "bp",
    "create_verifier_app",
]

EXTENSION_KEY = "citizen_card_verifier"
# The one view worth rate limiting (it does the crypto for callers without WebCrypto);
# the host app applies its limiter to it, e.g. ``limiter.limit("60/minute")(api_verify)``.
API_VERIFY_ENDPOINT = "verify.api_verify"
# A version-10 QR code holds at most 652 characters; 8 KiB leaves room for JSON framing
# and a long wrong text while refusing anything that is plainly not a scan.
MAX_VERIFY_BODY_BYTES = 8 * 1024
STATUS_CACHE_SECONDS = 60
WELL_KNOWN_MAX_AGE_SECONDS = 300
STATUS_LIST_CONTENT_TYPE = "application/statuslist+cwt"
# What the pages need, and nothing more: no inline script or style, no eval, no wasm
# (the QR decoder is pure JS), same-origin fetches and workers only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; media-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Whether the pages link static/fonts (the card's fonts, so every script a card prints
# shows). The issuing app's CSP lets them load ('self'); the stand-alone verifier's
# default-src 'none' would block them, so there they are off unless asked for.
PAGE_FONTS_KEY = "VERIFY_PAGE_FONTS"

bp = Blueprint(
    "verify",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/verify-static",
)
# Host apps find the views to rate limit here without hard-coding endpoint names.
RATE_LIMITED_ENDPOINTS = (API_VERIFY_ENDPOINT,)

_STATIC_DIR = Path(__file__).parent / "static"
_SERVICE_WORKER = "verify-sw.js"
# Files the service worker keeps for offline use; the vendored decoder only helps /scan.
_SHELL_FILES = (
    "verify.css",
    "credential.js",
    "verdict.js",
    "verify.js",
    "scan.js",
    "vendor/jsqr/jsQR.js",
)
_STATUS_PATH_RE = re.compile(r"/status/([0-9]{1,18})$")


VERDICT_CLEAR_SECONDS = 30


@dataclass(frozen=True)
class VerifierPolicy:
    """How a verifier judges and shows verdicts; the same on the API and the pages.

    ``status_max_age_seconds``: the oldest status list that can make a card valid (a
    list past its own ``exp`` never does); older, and the answer is "cannot confirm".
    ``verdict_clear_seconds``: how long the desk scanner shows a verdict before it
    clears it, so the next person is not waved through on the last one's result.
    """

    status_max_age_seconds: int = STATUS_MAX_AGE_SECONDS
    verdict_clear_seconds: int = VERDICT_CLEAR_SECONDS

    def __post_init__(self) -> None:
        if self.status_max_age_seconds < 60 or self.verdict_clear_seconds < 1:
            raise ValueError("a status list is trusted for >= 60 s, a verdict shown for >= 1 s")


@runtime_checkable
class VerifierBackend(Protocol):
    """Where the verify blueprint gets keys, status lists and metadata.

    Every method is called per request, so each must answer from memory (or a cheap
    file stat); none may record which card was checked.
    """

    def trust(self) -> TrustStore:
        """The issuers whose cards this service accepts; in memory, no DB query."""
        ...

    def status_source(self) -> StatusSource:
        """Where verify_text finds decoded status lists of every trusted issuer."""
        ...

    def jwks(self) -> dict[str, Any]:
        """This issuer's JWKS as served at /.well-known/jwks.json."""
        ...

    def issuer_metadata(self) -> dict[str, Any]:
        """/.well-known/citizen-card-issuer: ``issuer`` (id), ``issuer_name``,
        ``verify_url``, ``jwks_uri`` and ``status_lists`` (URIs of published lists)."""
        ...

    def status_list(self, list_id: int) -> bytes | None:
        """This issuer's signed status list (CWT bytes), or None when there is none."""
        ...

    def count(self, reason: str) -> None:
        """Add one to today's counter for ``reason``; takes no card data on purpose."""
        ...

    def expected_base(self) -> str | None:
        """The verify URL scanned codes must carry, or None to accept any issuer's."""
        ...

    def policy(self) -> VerifierPolicy:
        """The freshness window and the desk scanner's clearing delay."""
        ...


# --- the stand-alone backend ------------------------------------------------------------


class _CachedFileStatusSource:
    """FileStatusSource that decodes a list once per file version, not once per request.

    Decoding means a signature check and a 32 KiB inflate; the file's (mtime, size,
    inode) says when to do it again, so a list replaced on disk counts at once.
    """

    def __init__(self, directory: Path, trust: TrustStore) -> None:
        self._directory = directory
        self._files = FileStatusSource(directory, trust)
        self._lock = threading.Lock()
        self._decoded: dict[tuple[str, int], tuple[tuple[int, int, int], StatusList]] = {}

    def get(self, issuer_id: str, list_id: int) -> StatusList | None:
        """Return the saved list (even past its ``exp``), or None when there is no file.

        :raises StatusListError: when the file holds an invalid or foreign list.
        """
        path = self._directory / issuer_id / f"{list_id}.cwt"
        try:
            stat = path.stat()
        except OSError:
            return None
        version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        key = (issuer_id, list_id)
        with self._lock:
            remembered = self._decoded.get(key)
        if remembered is not None and remembered[0] == version:
            return remembered[1]
        status_list = self._files.get(issuer_id, list_id)
        if status_list is not None:
            with self._lock:
                self._decoded[key] = (version, status_list)
        return status_list


class StaticVerifierBackend:
    """A verifier backed by files: JWKS/trust files and saved status lists.

    ``trust_sources[0]`` is this service's own issuer (what /.well-known/jwks.json and
    /status/<id> publish); later sources are other cities whose cards are accepted too.
    Status lists live in ``status_dir/<issuer id>/<list id>.cwt``, the layout of
    :class:`verify.status.FileStatusSource` and ``python -m verify``.
    """

    def __init__(
        self,
        trust_sources: Sequence[str | Path | Mapping[str, Any]],
        status_dir: str | Path,
        *,
        expected_base: str | None = None,
        policy: VerifierPolicy | None = None,
    ) -> None:
        """Load the trust sources once.

        :raises TrustError: when a source is unreadable or invalid.
        :raises ValueError: when no trust source is given.
        """
        if not trust_sources:
            raise ValueError("at least the own issuer's JWKS is needed")
        own_source = trust_sources[0]
        if isinstance(own_source, Mapping):
            self._jwks = dict(own_source)
        else:
            self._jwks = json.loads(Path(own_source).read_bytes())
        store = TrustStore()
        for source in trust_sources:
            store = store.merged(load_trust(source))
        self._trust = store
        self._issuer = load_trust(self._jwks).issuers[0]
        self._status_dir = Path(status_dir)
        self._status = _CachedFileStatusSource(self._status_dir, store)
        self._expected_base = expected_base
        self._policy = policy or VerifierPolicy()
        self._counts_lock = threading.Lock()
        self.counts: dict[str, Counter[str]] = {}

    def trust(self) -> TrustStore:
        """The issuers loaded at start."""
        return self._trust

    def status_source(self) -> StatusSource:
        """Status lists read from ``status_dir``."""
        return self._status

    def jwks(self) -> dict[str, Any]:
        """The own issuer's JWKS, as given."""
        return self._jwks

    def issuer_metadata(self) -> dict[str, Any]:
        """Issuer id, name, verify URL, JWKS URI and the URIs of the lists on disk."""
        base = self._issuer.verify_url
        return {
            "issuer": self._issuer.issuer_id,
            "issuer_name": self._issuer.name,
            "verify_url": base,
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "status_list_uri_template": f"{base}/status/{{list_id}}",
            "status_lists": [self._issuer.status_url(list_id) for list_id in self._list_ids()],
        }

    def _list_ids(self) -> list[int]:
        directory = self._status_dir / self._issuer.issuer_id
        try:
            names = [entry.name for entry in os.scandir(directory)]
        except OSError:
            return []
        return sorted(int(name[:-4]) for name in names if re.fullmatch(r"[0-9]{1,18}\.cwt", name))

    def status_list(self, list_id: int) -> bytes | None:
        """The own issuer's list ``list_id`` as saved, or None."""
        path = self._status_dir / self._issuer.issuer_id / f"{list_id}.cwt"
        try:
            return path.read_bytes()
        except OSError:
            return None

    def count(self, reason: str) -> None:
        """Count one verification per UTC day and reason; nothing else is kept."""
        day = dt.datetime.now(dt.UTC).date().isoformat()
        with self._counts_lock:
            self.counts.setdefault(day, Counter())[reason] += 1

    def expected_base(self) -> str | None:
        """The verify URL given at construction, if any."""
        return self._expected_base

    def policy(self) -> VerifierPolicy:
        """The policy given at construction, else the defaults (24 h, 30 s)."""
        return self._policy


# --- helpers ------------------------------------------------------------------------------


def _backend() -> VerifierBackend:
    backend = current_app.extensions.get(EXTENSION_KEY)
    if backend is None:
        # A wiring bug in the host app, not bad input: fail loudly.
        raise RuntimeError(f"app.extensions[{EXTENSION_KEY!r}] holds no VerifierBackend")
    return backend  # type: ignore[no-any-return]


def _json_error(status: int, code: str, message: str) -> Response:
    response = jsonify(error=code, message=message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _languages() -> tuple[str, ...]:
    """The languages the pages offer (the host app's, else English only)."""
    return tuple(current_app.config.get("VERIFY_LANGUAGES") or (language.SOURCE,))


def _page_config() -> dict[str, Any]:
    backend = _backend()
    policy = backend.policy()
    return {
        "lang": page_lang(),
        "dir": page_dir(),
        "urls": {
            "api": url_for("verify.api_verify"),
            "jwks": url_for("verify.jwks"),
            "metadata": url_for("verify.issuer_metadata"),
            # A template, not one URL: the list id comes from the card.
            "status": url_for("verify.status_list", list_id=0)[:-1] + "{id}",
            "service_worker": url_for("verify.service_worker"),
            "decoder": url_for("verify.static", filename="vendor/jsqr/jsQR.js"),
            "scopes": [
                url_for("verify.landing_lower"),
                url_for("verify.landing"),
                url_for("verify.scan"),
            ],
        },
        "expected_base": backend.expected_base(),
        "policy": {
            "status_max_age_seconds": policy.status_max_age_seconds,
            "verdict_clear_seconds": policy.verdict_clear_seconds,
        },
        "strings": page_strings(),
    }


def _render_page(template: str, **context: Any) -> Response:
    metadata = _backend().issuer_metadata()
    response = Response(
        render_template(
            template,
            lang=page_lang(),
            dir=page_dir(),
            language_switch=language.switch(_languages(), request.endpoint or "verify.landing"),
            issuer_name=str(metadata.get("issuer_name", "")),
            config=_page_config(),
            page_fonts=current_app.config.get(PAGE_FONTS_KEY, True),
            **context,
        )
    )
    # Revalidate every time: the service worker is the offline copy, not the HTTP cache.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    # The service worker keeps one copy per language, named by this header.
    response.headers["Content-Language"] = page_lang()
    response.vary.update(("Accept-Language", "Cookie"))
    return language.remember_choice(response, _languages())


def _public_json(document: Mapping[str, Any], max_age: int) -> Response:
    response = jsonify(document)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    # Public data that other cities' verifiers may fetch from their own pages.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    response.make_conditional(request)
    return response


# --- views --------------------------------------------------------------------------------


@bp.post("/api/v1/verify")
def api_verify() -> Response:
    """Verify scanned text: 200 with the verdict for any text; 4xx JSON for a bad body."""
    if request.content_length is not None and request.content_length > MAX_VERIFY_BODY_BYTES:
        return _json_error(413, "too_large", _("The request body is too large."))
    # Bounded read: a chunked body has no Content-Length to refuse up front.
    body = request.stream.read(MAX_VERIFY_BODY_BYTES + 1)
    if len(body) > MAX_VERIFY_BODY_BYTES:
        return _json_error(413, "too_large", _("The request body is too large."))
    try:
        document = json.loads(body)
    # ValueError: also integers longer than Python converts (4,300 digits).
    except (ValueError, RecursionError):
        return _json_error(400, "invalid_json", _("The request body is not JSON."))
    if not isinstance(document, dict) or not isinstance(document.get("qr"), str):
        return _json_error(
            400, "invalid_request", _('Send a JSON object with the scanned text in "qr".')
        )
    backend = _backend()
    result = verify_text(
        document["qr"],
        backend.trust(),
        now=int(time.time()),
        status=backend.status_source(),
        expected_base=backend.expected_base(),
        status_max_age=backend.policy().status_max_age_seconds,
    )
    backend.count(result.reason if result.reason in REASONS else "malformed")
    # json.dumps directly: this is the hot path, and jsonify's provider lookup is not free.
    response = Response(json.dumps(result.to_json()), mimetype="application/json")
    # The answer holds a name: no shared cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/V")
def landing() -> Response:
    """The page a phone camera opens: the QR text is ``<BASE>/V#<TOKEN>``."""
    return _render_page("verify/landing.html")


@bp.get("/v")
def landing_lower() -> Response:
    """The same page for people who type the address."""
    return _render_page("verify/landing.html")


@bp.get("/scan")
def scan() -> Response:
    """The desk scanner page: camera and a field for USB scanners."""
    response = _render_page("verify/scan.html")
    response.headers["Permissions-Policy"] = "camera=(self)"
    return response


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """This issuer's public keys (active and retired) and revoked kids."""
    return _public_json(_backend().jwks(), WELL_KNOWN_MAX_AGE_SECONDS)


@bp.get("/.well-known/citizen-card-issuer")
def issuer_metadata() -> Response:
    """Issuer id, name, verify URL, JWKS URI and status list URIs."""
    return _public_json(_backend().issuer_metadata(), WELL_KNOWN_MAX_AGE_SECONDS)


@bp.get("/status/<int:list_id>")
def status_list(list_id: int) -> Response:
    """A signed status list; verifiers fetch whole lists, so no card is singled out."""
    data = _backend().status_list(list_id)
    if data is None:
        return _json_error(404, "not_found", _("There is no such status list."))
    response = Response(data, content_type=STATUS_LIST_CONTENT_TYPE)
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    response.headers["Cache-Control"] = f"public, max-age={STATUS_CACHE_SECONDS}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.make_conditional(request)
    return response


@functools.lru_cache(maxsize=8)
def _shell_digest(versions: tuple[tuple[str, int, int], ...]) -> str:
    # Keyed on (name, mtime, size): browsers re-fetch the worker on every visit, and
    # hashing a quarter megabyte of JS each time would be waste.
    digest = hashlib.sha256()
    for name, _mtime, _size in versions:
        digest.update((_STATIC_DIR / name).read_bytes())
    return digest.hexdigest()


def _service_worker_source(
    precache: Iterable[str], network_first: Iterable[str], pages: Iterable[str] = ()
) -> str:
    template = (_STATIC_DIR / _SERVICE_WORKER).read_text(encoding="utf-8")
    precache = list(precache)
    versions = []
    for name in (_SERVICE_WORKER, *_SHELL_FILES):
        stat = (_STATIC_DIR / name).stat()
        versions.append((name, stat.st_mtime_ns, stat.st_size))
    digest = hashlib.sha256(_shell_digest(tuple(versions)).encode())
    pages = list(pages)
    digest.update(json.dumps([precache, pages]).encode())
    # The version changes whenever a cached file or the set of lists changes, which
    # makes the browser install the new worker and drop the old cache.
    return (
        template.replace("__VERSION__", digest.hexdigest()[:16])
        .replace("__PRECACHE__", json.dumps(precache))
        .replace("__NETWORK_FIRST__", json.dumps(list(network_first)))
        .replace("__PAGES__", json.dumps(pages))
    )


@bp.get("/verify-sw.js")
def service_worker() -> Response:
    """The service worker that keeps /v, /V and /scan working offline."""
    metadata = _backend().issuer_metadata()
    list_ids: list[int] = []
    for uri in metadata.get("status_lists", []):
        match = _STATUS_PATH_RE.search(str(uri))
        if match:
            list_ids.append(int(match.group(1)))
    pages = [url_for("verify.landing"), url_for("verify.landing_lower"), url_for("verify.scan")]
    data = [url_for("verify.jwks"), url_for("verify.issuer_metadata")]
    statics = [url_for("verify.static", filename=name) for name in _SHELL_FILES]
    lists = [url_for("verify.status_list", list_id=list_id) for list_id in sorted(set(list_ids))]
    status_prefix = url_for("verify.status_list", list_id=0)[:-1]
    source = _service_worker_source(
        [*pages, *statics, *data, *lists], [*data, status_prefix], pages
    )
    response = Response(source, content_type="text/javascript; charset=utf-8")
    # no-cache so a new version reaches phones on their next visit, not in 24 hours.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


# --- the stand-alone app ------------------------------------------------------------------


def _select_locale() -> str | None:
    available = _languages()
    return language.choose(available, available[0])


# The catalogues shipped beside this package in the project's distribution (a path, not
# an import: verify/ runs without citizen_card).
SHIPPED_TRANSLATIONS = Path(__file__).resolve().parent.parent / "citizen_card" / "translations"


def create_verifier_app(
    backend: VerifierBackend,
    *,
    translations: Path | None = SHIPPED_TRANSLATIONS,
    page_fonts: bool = False,
) -> Flask:
    """A Flask app serving only verification, for a service that is not the issuer.

    Sets the strict Content-Security-Policy the pages are built for, and answers API
    errors (404, 405, ...) with JSON instead of HTML. The pages speak each language with
    a compiled catalogue in ``translations`` (English with None), chosen as
    :func:`verify.language.choose` says. With ``page_fonts`` the pages link the card's
    fonts and the policy adds ``font-src 'self'`` for them.
    """
    app = Flask(__name__)
    app.config[PAGE_FONTS_KEY] = page_fonts
    policy = CONTENT_SECURITY_POLICY + ("; font-src 'self'" if page_fonts else "")
    app.extensions[EXTENSION_KEY] = backend
    app.config["VERIFY_LANGUAGES"] = language.catalogued(translations, compiled=True)
    if translations is not None:
        app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations)
    Babel(app, locale_selector=_select_locale)
    app.register_blueprint(bp)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok\n", content_type="text/plain")

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        if request.path.startswith("/api/"):
            name = (error.name or "error").lower().replace(" ", "_")
            return _json_error(code, name, error.description or "")
        return error

    return app
