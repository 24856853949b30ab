"""TOTP second factor (RFC 6238): enrolment, single-use codes, who must have one."""

from __future__ import annotations

import base64
import io
from datetime import datetime
from functools import cache

import pyotp
import qrcode
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from citizen_card.config import Settings
from citizen_card.models import Staff
from citizen_card.services import audit, privacy
from citizen_card.services.errors import N_, ValidationFailed
from citizen_card.services.types import DbSession

STEP_SECONDS = 30
# One step either side: a phone's clock may be a little off.
VALID_WINDOW = 1


@cache
def _totp_key(master_key: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"citizen-card totp secrets"
    ).derive(master_key)


def required_for(staff: Staff, settings: Settings) -> bool:
    """Admins always need a second factor; clerks when the city says so."""
    return staff.role == "admin" or (staff.role == "clerk" and settings.require_totp_for_clerks)


def enrolled(staff: Staff) -> bool:
    return staff.totp_secret_sealed is not None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_qr(secret: str, *, username: str, issuer: str) -> str:
    """A data: URL of a PNG QR code an authenticator app scans to enrol."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)
    image = qrcode.make(uri, border=4, box_size=6)
    out = io.BytesIO()
    image.save(out)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def seal_pending(secret: str, staff: Staff, settings: Settings) -> str:
    """The secret being enrolled, sealed for the session cookie (which is only signed)."""
    sealed = privacy.seal(_totp_key(settings.master_key), secret.encode(), _pending_aad(staff))
    return base64.urlsafe_b64encode(sealed).decode()


def open_pending(value: object, staff: Staff, settings: Settings) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        sealed = base64.urlsafe_b64decode(value)
        return privacy.open_sealed(
            _totp_key(settings.master_key), sealed, _pending_aad(staff)
        ).decode()
    except (ValueError, privacy.DecryptionError):
        return None


def _pending_aad(staff: Staff) -> bytes:
    return f"totp-pending:{staff.id}".encode()


def _secret(staff: Staff, settings: Settings) -> str:
    assert staff.totp_secret_sealed is not None  # noqa: S101 — callers check enrolled()
    return privacy.open_sealed(
        _totp_key(settings.master_key), staff.totp_secret_sealed, f"totp:{staff.id}".encode()
    ).decode()


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // STEP_SECONDS
    for candidate in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        if totp.verify(code, for_time=candidate * STEP_SECONDS, valid_window=0):
            return candidate
    return None


def enrol_secret(staff: Staff, secret: str, settings: Settings) -> None:
    """Store a (verified) secret for ``staff``; the next code used must be newer."""
    staff.totp_secret_sealed = privacy.seal(
        _totp_key(settings.master_key), secret.encode(), f"totp:{staff.id}".encode()
    )


def confirm_enrolment(
    session: DbSession, staff: Staff, *, secret: str, code: str, settings: Settings, now: datetime
) -> None:
    """Store the secret once the person proved their app produces its codes.

    :raises ValidationFailed: ``totp_wrong`` when the code does not match.
    """
    step = _matching_step(secret, code, now)
    if step is None:
        raise ValidationFailed(N_("The code does not match. Try the next one."), "totp_wrong")
    enrol_secret(staff, secret, settings)
    staff.totp_last_step = step
    audit.record(
        session,
        actor=staff,
        action="staff.totp_enrol",
        target_type="staff",
        target_ref=staff.id,
        now=now,
    )


def check_code(
    session: DbSession, staff: Staff, code: str, *, settings: Settings, now: datetime
) -> bool:
    """True for a current code not used before; each code works once (RFC 6238 §5.2)."""
    if not enrolled(staff):
        return False
    step = _matching_step(_secret(staff, settings), code, now)
    # Claim the step in one conditional UPDATE: of two requests with the same code, the
    # database lets exactly one move totp_last_step forward (PostgreSQL re-checks the
    # condition after waiting for the other's row lock; SQLite has one writer at a time).
    claimed = step is not None and _claim_step(session, staff, step)
    if not claimed:
        audit.record(
            session,
            actor=None,
            action="auth.totp_failed",
            target_type="staff",
            target_ref=staff.id,
            now=now,
        )
        return False
    return True


def _claim_step(session: DbSession, staff: Staff, step: int) -> bool:
    result = session.execute(
        update(Staff)
        .where(
            Staff.id == staff.id,
            or_(Staff.totp_last_step.is_(None), Staff.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    # The row says so already; keep the loaded object in step without a second UPDATE.
    set_committed_value(staff, "totp_last_step", step)
    return True


def remove(session: DbSession, staff: Staff, *, actor: Staff, now: datetime) -> None:
    """Remove a second factor (an admin does this when a phone is lost)."""
    staff.totp_secret_sealed = None
    staff.totp_last_step = None
    audit.record(
        session,
        actor=actor,
        action="staff.totp_remove",
        target_type="staff",
        target_ref=staff.id,
        now=now,
    )
