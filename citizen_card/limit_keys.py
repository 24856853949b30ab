"""The keys rate limits count under: opaque, and normalised like the lookups they guard.

A limit's key ends up in places that outlive a request: the counter storage (Redis keys
that a dump shows) and Flask-Limiter's log line when a limit is hit. A key made of a card
number or a client address would tie that card or address to a moment. So every key is a
keyed digest (HMAC-SHA-256 under the app's secret key) of what it counts, and the value
is first normalised the way the protected lookup normalises it: otherwise typing the
same card number or user name another way (lower case, fullwidth letters, I for 1) would
count apart and multiply the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from flask import current_app
from flask_limiter.util import get_remote_address

from verify.cardnumber import InvalidCardNumber, normalize_card_number

DIGEST_HEX_CHARS = 24  # 96 bits: no two real keys collide, nothing to read back


def opaque(scope: str, value: str) -> str:
    """``scope:digest`` for ``value``; equal values give equal keys within one instance."""
    secret = current_app.config["SECRET_KEY"]
    key = secret if isinstance(secret, bytes) else str(secret).encode()
    digest = hmac.new(key, f"rate-limit:{scope}:{value}".encode(), hashlib.sha256)
    return f"{scope}:{digest.hexdigest()[:DIGEST_HEX_CHARS]}"


def address_key() -> str:
    """The client's address (after the configured proxies), as an opaque key."""
    return opaque("address", get_remote_address())


def username_key(typed: str) -> str:
    """A typed user name as authentication reads it (NFKC, trimmed), case folded."""
    normalised = unicodedata.normalize("NFKC", typed).strip().casefold()[:64]
    return opaque("login-account", normalised)


def card_number_key(typed: str) -> str:
    """A typed card number as the card lookup reads it (case, spaces, dashes, I/L→1,
    O→0); text that is no card number counts under its compact upper-case form."""
    try:
        number = normalize_card_number(typed)
    except InvalidCardNumber:
        number = "".join(ch for ch in typed.upper() if ch.isalnum())[:32]
    return opaque("card", number)


__all__ = ["address_key", "card_number_key", "opaque", "username_key"]
