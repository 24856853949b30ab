"""Staff accounts: passwords, server-side sessions, API tokens."""

from __future__ import annotations

import contextlib
import gzip
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from citizen_card.models import ApiToken, Staff, StaffSession
from citizen_card.models.staff import ROLES
from citizen_card.models.types import MAX_INTEGER
from citizen_card.services import audit
from citizen_card.services.errors import N_, Conflict, NotFound, ValidationFailed
from citizen_card.services.privacy import hash_secret
from citizen_card.services.types import DbSession

MIN_PASSWORD = 12
MAX_PASSWORD = 128
USERNAME_MAX = 64
# A hash to verify against when the username is unknown, so both cases cost the same.
_DUMMY_PASSWORD = "unknown-account-placeholder"  # noqa: S105 — not a credential, see above


@dataclass(frozen=True)
class PasswordPolicy:
    time_cost: int
    memory_kib: int

    def hasher(self) -> PasswordHasher:
        return _hasher(self.time_cost, self.memory_kib)


@cache
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("citizen_card.data").joinpath("common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


class AuthenticationFailed(Exception):
    """Wrong username or password, or a disabled account: one answer for all three."""


def check_password_rules(password: str) -> str:
    """Return the password normalised (NFKC) or say what is wrong with it.

    NIST SP 800-63B: length and a block list, no composition rules.

    :raises ValidationFailed: ``password_too_short``, ``password_too_long``,
        ``password_common``.
    """
    normalised = unicodedata.normalize("NFKC", password)
    if len(normalised) < MIN_PASSWORD:
        raise ValidationFailed(
            N_("The password must have at least %(count)d characters."),
            "password_too_short",
            "password",
            count=MIN_PASSWORD,
        )
    if len(normalised) > MAX_PASSWORD:
        raise ValidationFailed(
            N_("The password must have at most %(count)d characters."),
            "password_too_long",
            "password",
            count=MAX_PASSWORD,
        )
    if normalised.casefold() in common_passwords():
        raise ValidationFailed(
            N_("This password is too common; choose another."), "password_common", "password"
        )
    return normalised


def generate_password() -> str:
    # 16 characters of base32-like text: ~80 bits, easy to type once.
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def _plain_username(username: str) -> str | None:
    """The user name as stored (NFKC, stripped), or None when no account can have it."""
    username = unicodedata.normalize("NFKC", username).strip()
    if not 0 < len(username) <= USERNAME_MAX:
        return None
    # Printable and unspaced; PostgreSQL would also refuse a NUL in a query with an error.
    if not all(c.isprintable() and not c.isspace() for c in username):
        return None
    return username


def _validate_username(username: str) -> str:
    plain = _plain_username(username)
    if plain is None:
        raise ValidationFailed(
            N_("The user name must be 1 to 64 characters without spaces."), "invalid", "username"
        )
    return plain


def create_staff(
    session: DbSession,
    *,
    username: str,
    role: str,
    password: str,
    policy: PasswordPolicy,
    now: datetime,
    actor: Staff | None,
    must_change_password: bool = True,
) -> Staff:
    """Create a staff account.

    :raises ValidationFailed: bad user name, role or password.
    :raises Conflict: ``username_taken``.
    """
    username = _validate_username(username)
    if role not in ROLES:
        raise ValidationFailed(
            N_("The role must be one of %(roles)s."), "invalid", "role", roles=", ".join(ROLES)
        )
    password = check_password_rules(password)
    if session.execute(select(Staff.id).where(Staff.username == username)).first():
        raise Conflict(N_("This user name is taken."), "username_taken")
    staff = Staff(
        username=username,
        role=role,
        password_hash=policy.hasher().hash(password),
        must_change_password=must_change_password,
        active=True,
        created_at=now,
        password_changed_at=now,
    )
    session.add(staff)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="staff.create",
        target_type="staff",
        target_ref=staff.id,
        now=now,
        detail={"role": role},
    )
    return staff


def authenticate(
    session: DbSession, *, username: str, password: str, policy: PasswordPolicy, now: datetime
) -> Staff:
    """Check a username and password; a failure is audited (never with what was typed).

    :raises AuthenticationFailed: whatever the cause, with the same message and cost.
    """
    hasher = policy.hasher()
    plain = _plain_username(username)
    staff = (
        session.execute(select(Staff).where(Staff.username == plain)).scalar_one_or_none()
        if plain is not None
        else None
    )
    candidate = unicodedata.normalize("NFKC", password)[: MAX_PASSWORD * 4]
    if staff is None:
        with contextlib.suppress(VerificationError):
            hasher.verify(_dummy_hash(policy), candidate)
        _failed(session, None, now, "unknown_account")
        raise AuthenticationFailed
    try:
        hasher.verify(staff.password_hash, candidate)
    except (VerificationError, InvalidHashError) as exc:
        _failed(session, staff, now, "wrong_password")
        raise AuthenticationFailed from exc
    if not staff.active:
        _failed(session, staff, now, "disabled")
        raise AuthenticationFailed
    if hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hasher.hash(candidate)
    return staff


# A consumed one-time password: the hash is kept behind a mark no hasher accepts (the
# convention of /etc/shadow for locked passwords), so it never opens a session again.
USED_ONE_TIME_MARK = "!"


def consume_one_time_password(session: DbSession, staff: Staff, *, now: datetime) -> bool:
    """Use up the one-time password (new account or reset) that just opened a login.

    One conditional UPDATE decides: of N logins racing with the same one-time password,
    exactly one gets True; the others are refused and audited. Accounts with a password
    of their own (``must_change_password`` false) always get True.
    """
    if not staff.must_change_password:
        return True
    seen = staff.password_hash
    result = session.execute(
        update(Staff)
        .where(Staff.id == staff.id, Staff.password_hash == seen)
        .values(password_hash=USED_ONE_TIME_MARK + seen)
        .execution_options(synchronize_session=False)
    )
    if seen.startswith(USED_ONE_TIME_MARK) or result.rowcount != 1:  # type: ignore[attr-defined]
        _failed(session, staff, now, "one_time_password_used")
        return False
    set_committed_value(staff, "password_hash", USED_ONE_TIME_MARK + seen)
    return True


def _failed(session: DbSession, staff: Staff | None, now: datetime, cause: str) -> None:
    # The typed user name is not recorded: people type passwords into it by mistake.
    audit.record(
        session,
        actor=None,
        action="auth.login_failed",
        target_type="staff",
        target_ref=staff.id if staff else "unknown",
        now=now,
        detail={"cause": cause},
    )


@cache
def _dummy_hash_for(time_cost: int, memory_kib: int) -> str:
    return _hasher(time_cost, memory_kib).hash(_DUMMY_PASSWORD)


def _dummy_hash(policy: PasswordPolicy) -> str:
    return _dummy_hash_for(policy.time_cost, policy.memory_kib)


def verify_password(staff: Staff, password: str, policy: PasswordPolicy) -> bool:
    try:
        return policy.hasher().verify(staff.password_hash, unicodedata.normalize("NFKC", password))
    except (VerificationError, InvalidHashError):
        return False


def set_password(
    session: DbSession,
    staff: Staff,
    *,
    password: str,
    policy: PasswordPolicy,
    now: datetime,
    actor: Staff | None,
    must_change: bool = False,
    keep_session_id: int | None = None,
) -> None:
    """Set a new password and end every other session of the account."""
    password = check_password_rules(password)
    others = delete(StaffSession).where(StaffSession.staff_id == staff.id)
    if keep_session_id is not None:
        others = others.where(StaffSession.id != keep_session_id)
    session.execute(others)
    staff.password_hash = policy.hasher().hash(password)
    staff.password_changed_at = now
    staff.must_change_password = must_change
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="staff.password_reset" if must_change else "staff.password_change",
        target_type="staff",
        target_ref=staff.id,
        now=now,
    )


def set_active(
    session: DbSession, staff: Staff, *, active: bool, now: datetime, actor: Staff
) -> None:
    """Enable or disable an account; disabling ends all its sessions and API tokens."""
    if staff.id == actor.id and not active:
        raise ValidationFailed(N_("You cannot disable your own account."), "cannot_disable_self")
    staff.active = active
    if not active:
        end_all_sessions(session, staff)
        session.execute(
            ApiToken.__table__.update()
            .where(ApiToken.staff_id == staff.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    audit.record(
        session,
        actor=actor,
        action="staff.enable" if active else "staff.disable",
        target_type="staff",
        target_ref=staff.id,
        now=now,
    )


def set_language(
    session: DbSession, staff: Staff, language: str, *, offered: tuple[str, ...], now: datetime
) -> None:
    """Choose the language of the staff pages for one's own account ("" for the city's).

    :raises ValidationFailed: ``unknown_language`` for a language the service does not offer.
    """
    if language and language not in offered:
        raise ValidationFailed(N_("This language is not offered."), "unknown_language", "language")
    chosen = language or None
    if staff.language == chosen:
        return
    staff.language = chosen
    audit.record(
        session,
        actor=staff,
        action="staff.language",
        target_type="staff",
        target_ref=staff.id,
        now=now,
        detail={"language": chosen or "city default"},
    )


def get_staff(session: DbSession, staff_id: int) -> Staff:
    """:raises NotFound: ``staff_not_found`` when no account has this id."""
    staff = session.get(Staff, staff_id) if 0 < staff_id <= MAX_INTEGER else None
    if staff is None:
        raise NotFound(N_("No such staff account."), "staff_not_found")
    return staff


def get_staff_by_username(session: DbSession, username: str) -> Staff:
    staff = session.execute(select(Staff).where(Staff.username == username)).scalar_one_or_none()
    if staff is None:
        raise NotFound(N_(N_("No such staff account.")), "staff_not_found")
    return staff


# --- sessions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionTimeouts:
    idle: timedelta
    absolute: timedelta


def start_session(session: DbSession, staff: Staff, *, now: datetime) -> str:
    """Create a server-side session; the returned id goes in the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=hash_secret(token),
            staff_id=staff.id,
            created_at=now,
            last_seen_at=now,
            reauthenticated_at=now,
        )
    )
    audit.record(
        session, actor=staff, action="auth.login", target_type="staff", target_ref=staff.id, now=now
    )
    return token


def resume_session(
    session: DbSession,
    token: str,
    *,
    now: datetime,
    timeouts: SessionTimeouts,
    touch: bool = True,
) -> StaffSession | None:
    """The live session for a cookie value, or None when it ended or timed out.

    With ``touch``, a timed-out row is deleted and the last-seen time moved on (once a
    minute); without, nothing is written.
    """
    row = session.execute(
        select(StaffSession).where(StaffSession.token_hash == hash_secret(token))
    ).scalar_one_or_none()
    if row is None:
        return None
    if (
        not row.staff.active
        or now - row.last_seen_at > timeouts.idle
        or now - row.created_at > timeouts.absolute
    ):
        if touch:
            session.delete(row)
        return None
    # Writing on every request would serialise SQLite; a minute's precision is plenty.
    if touch and now - row.last_seen_at > timedelta(seconds=60):
        row.last_seen_at = now
    return row


def end_session(session: DbSession, token: str, *, now: datetime) -> None:
    row = session.execute(
        select(StaffSession).where(StaffSession.token_hash == hash_secret(token))
    ).scalar_one_or_none()
    if row is not None:
        audit.record(
            session,
            actor=row.staff,
            action="auth.logout",
            target_type="staff",
            target_ref=row.staff_id,
            now=now,
        )
        session.delete(row)


def end_all_sessions(session: DbSession, staff: Staff) -> None:
    session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))


# --- API tokens -------------------------------------------------------------------------

TOKEN_PREFIX = "cc_"  # noqa: S105 — a public prefix that makes leaked tokens greppable


def create_api_token(
    session: DbSession, staff: Staff, *, now: datetime, actor: Staff | None
) -> str:
    if not staff.active:
        raise ValidationFailed(N_("The account is disabled."), "staff_disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=hash_secret(token), staff_id=staff.id, created_at=now)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="staff.token_create",
        target_type="staff",
        target_ref=staff.id,
        now=now,
        detail={"token_id": row.id},
    )
    return token


def staff_for_token(session: DbSession, token: str) -> Staff | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    row = session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_secret(token))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not row.staff.active:
        return None
    return row.staff
