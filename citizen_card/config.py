"""Settings: defaults < instance/config.py < CITIZEN_CARD_* environment variables.

Secrets have no defaults. ``citizen-card init`` generates them into the instance folder;
anything missing or malformed stops start-up with a message that says what to do.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import runpy
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from citizen_card.database import lock_timeout_connect_args

ENV_PREFIX = "CITIZEN_CARD_"
SECRET_NAMES = ("SECRET_KEY", "MASTER_KEY", "BLIND_INDEX_KEY")


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says why and how to fix it."""


_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def _decode_key(name: str, value: str) -> bytes:
    # base64's decoder skips characters outside the alphabet; a garbled secret must fail.
    if not _B64URL.fullmatch(value):
        raise ConfigError(f"{name} is not valid base64url")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{name} is not valid base64url: {exc}") from exc
    if len(raw) != 32:
        raise ConfigError(f"{name} must hold 32 bytes (base64url), it holds {len(raw)}")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment, validated once."""

    instance_path: Path
    secret_key: bytes
    master_key: bytes
    blind_index_key: bytes
    database_url: str
    keystore_url: str = ""
    ratelimit_storage_uri: str = "memory://"
    issuer_id: str = "CITY"
    issuer_name: str = "City"
    verify_base_url: str = "http://127.0.0.1:5000"
    card_title: str = "Local citizenship card"
    card_validity_days: int = 5 * 365
    collect_date_of_birth: bool = True
    collect_gender: bool = False
    require_totp_for_clerks: bool = False
    retention_months: int = 24
    session_idle_minutes: int = 30
    session_absolute_hours: int = 10
    secure_cookies: bool = False
    # How long a request waits for a database lock (SQLite's write lock, a PostgreSQL row
    # lock) before it answers 503 "busy, try again".
    database_lock_timeout_ms: int = 5000
    # Anyone may verify; this limits how often one address may ask (Flask-Limiter syntax).
    verify_rate_limit: str = "120 per minute"
    # A card is "valid" only on a status list at most this old (and never past the list's
    # exp, 7 days after it is signed); older, and verifiers answer "cannot confirm".
    status_max_age_hours: int = 24
    # The desk scanner (/scan) clears a verdict after this long, or at the next scan.
    verdict_clear_seconds: int = 30
    # Searches per staff account (Flask-Limiter syntax): every search is audited, and a
    # limit stops an account from walking the registry one prefix after another.
    search_rate_limit: str = "120 per hour;600 per day"
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers to trust.
    proxy_count: int = 0
    # argon2id cost: RFC 9106's second recommended option; tests lower it by config.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    languages: tuple[str, ...] = ("en", "fr")
    default_language: str = "en"
    max_photo_bytes: int = 8 * 1024 * 1024
    # The places directory (/places). A map is shown only with a tile server the city
    # chooses, e.g. "https://tiles.example.org/{z}/{x}/{y}.png"; empty: no map and no
    # request to anyone else. The attribution the tile provider asks for is then required.
    map_tile_url: str = ""
    map_attribution: str = ""
    # Whether the card's back and the receipt print where the card is accepted (the
    # address of /places: PLACES_URL, or VERIFY_BASE_URL + "/places" when empty).
    places_on_card: bool = False
    places_url: str = ""
    # How often one address may ask to list a service (Flask-Limiter syntax).
    places_join_rate_limit: str = "10 per hour;50 per day"
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def engine_options(self) -> dict[str, Any]:
        # A request waits this long for a lock, then answers 503 (database.py).
        connect_args = lock_timeout_connect_args(self.database_url, self.database_lock_timeout_ms)
        if self.database_url.startswith("sqlite"):
            return {"connect_args": connect_args}
        return {"pool_pre_ping": True, "connect_args": connect_args}

    def flask_config(self) -> dict[str, Any]:
        cookie_prefix = "__Host-" if self.secure_cookies else ""
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": self.engine_options(),
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
            # Said explicitly: the limiter object outlives an app, and keeps the last
            # app's setting when the next one does not give its own.
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_HEADERS_ENABLED": False,
            "RATELIMIT_STRATEGY": "fixed-window",
            "RATELIMIT_KEY_PREFIX": "citizen-card",
            "SESSION_COOKIE_NAME": f"{cookie_prefix}session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.secure_cookies,
            "REMEMBER_COOKIE_DURATION": 0,
            "WTF_CSRF_TIME_LIMIT": None,
            "MAX_CONTENT_LENGTH": self.max_photo_bytes + 64 * 1024,
            # Werkzeug's own limit for one text field (500 kB) would answer a long paste
            # with a bare 413 and lose the form; the request limit bounds memory already,
            # and the views answer "more than N characters" with what was typed kept.
            "MAX_FORM_MEMORY_SIZE": self.max_photo_bytes + 64 * 1024,
            "BABEL_DEFAULT_LOCALE": self.default_language,
            "TESTING": self.testing,
            "WTF_CSRF_ENABLED": True,
            **self.extra,
        }


_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False}
_BOOL.update({"no": False, "off": False})


def _coerce(name: str, value: Any, default: Any) -> Any:
    if not isinstance(value, str) or isinstance(default, str):
        return value
    if isinstance(default, bool):
        if value.lower() not in _BOOL:
            raise ConfigError(f"{name} must be true or false, not {value!r}")
        return _BOOL[value.lower()]
    if isinstance(default, int):
        try:
            return int(value)
        except ValueError as exc:
            raise ConfigError(f"{name} must be a whole number, not {value!r}") from exc
    if isinstance(default, tuple):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def read_instance_config(instance_path: Path) -> dict[str, Any]:
    """The UPPERCASE names of instance/config.py, or nothing when it does not exist."""
    path = instance_path / "config.py"
    if not path.exists():
        return {}
    values = runpy.run_path(str(path))
    return {key: value for key, value in values.items() if key.isupper()}


def load_settings(instance_path: str | Path, **overrides: Any) -> Settings:
    """Read and validate the settings for one instance folder.

    :raises ConfigError: a secret is missing or malformed, or a value has the wrong type.
    """
    instance = Path(instance_path)
    raw: dict[str, Any] = read_instance_config(instance)
    for key, value in os.environ.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "INSTANCE":
            raw[key[len(ENV_PREFIX) :]] = value
    raw.update({key.upper(): value for key, value in overrides.items()})

    missing = [name for name in SECRET_NAMES if not raw.get(name)]
    if missing:
        raise ConfigError(
            f"missing secret(s) {', '.join(missing)} in {instance / 'config.py'} or the "
            f"environment ({', '.join(ENV_PREFIX + m for m in missing)}); "
            "run `citizen-card init` to create an instance"
        )
    defaults = Settings(
        instance_path=instance,
        secret_key=b"",
        master_key=b"",
        blind_index_key=b"",
        database_url="",
    )
    database_url = str(
        raw.get("DATABASE_URL") or f"sqlite:///{(instance / 'citizen-card.sqlite3')}"
    )
    if database_url.startswith(("postgresql://", "postgres://")):
        # Plain libpq URLs name no driver; psycopg 3 is the one installed.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    values: dict[str, Any] = {
        "secret_key": _decode_key("SECRET_KEY", str(raw["SECRET_KEY"])),
        "master_key": _decode_key("MASTER_KEY", str(raw["MASTER_KEY"])),
        "blind_index_key": _decode_key("BLIND_INDEX_KEY", str(raw["BLIND_INDEX_KEY"])),
        "database_url": database_url,
        "keystore_url": str(
            raw.get("KEYSTORE_URL") or f"sqlite:///{instance / 'keystore.sqlite3'}"
        ),
    }
    known = {f.name for f in fields(Settings)} - {"instance_path", "extra"}
    for f in fields(Settings):
        if f.name in values or f.name not in known:
            continue
        if f.name.upper() in raw:
            values[f.name] = _coerce(f.name.upper(), raw[f.name.upper()], getattr(defaults, f.name))
    extra = raw.get("FLASK_EXTRA") or {}
    if not isinstance(extra, dict):
        raise ConfigError("FLASK_EXTRA must be a dict")
    settings = replace(defaults, **values, extra=extra)
    if settings.card_validity_days < 1:
        raise ConfigError("CARD_VALIDITY_DAYS must be at least 1")
    if settings.status_max_age_hours < 1:
        raise ConfigError("STATUS_MAX_AGE_HOURS must be at least 1")
    if settings.verdict_clear_seconds < 1:
        raise ConfigError("VERDICT_CLEAR_SECONDS must be at least 1")
    if settings.map_tile_url:
        tile_origin(settings.map_tile_url)
        if not settings.map_attribution.strip():
            raise ConfigError(
                "MAP_ATTRIBUTION is required with MAP_TILE_URL (tile providers ask for it)"
            )
    return settings


_TILE_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?")


def tile_origin(template: str) -> str:
    """The origin (scheme://host[:port]) of a map tile URL template such as
    ``https://tiles.example.org/{z}/{x}/{y}.png``; the page's CSP allows images from it.

    :raises ConfigError: not http(s), a host that is not literal (no ``{s}`` subdomains:
        the CSP names exactly one origin), credentials, or no ``{z}``, ``{x}``, ``{y}``.
    """
    scheme, sep, rest = template.partition("://")
    host, slash, _path = rest.partition("/")
    if scheme not in ("http", "https") or not sep or not slash:
        raise ConfigError("MAP_TILE_URL must start with https:// (or http://) and a host")
    if not _TILE_HOST.fullmatch(host):
        raise ConfigError(
            "MAP_TILE_URL must name one literal host (no {s} subdomains, no user:password@)"
        )
    if any(slot not in template for slot in ("{z}", "{x}", "{y}")):
        raise ConfigError("MAP_TILE_URL must hold {z}, {x} and {y}")
    return f"{scheme}://{host.lower()}"
