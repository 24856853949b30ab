"""Register, read, edit and export residents (erasure: :mod:`erasure`; search: :mod:`search`).

Personal fields never touch the database in clear: they are sealed with the resident's
own data key (see :mod:`citizen_card.services.privacy`), and names are searchable only
through blind indexes.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from citizen_card.config import Settings
from citizen_card.models import Card, Evidence, Resident, ResidentNameToken, Staff
from citizen_card.models.resident import EVIDENCE_KINDS
from citizen_card.services import audit, names, privacy
from citizen_card.services import resident_fields as fields
from citizen_card.services.errors import (
    N_,
    Problems,
    ResidentNotFound,
    ValidationFailed,
    refuse_unknown_fields,
)
from citizen_card.services.keystore import KeyStore, open_keystore
from citizen_card.services.photos import normalise_photo, thumbnail
from citizen_card.services.resident_fields import CONTACT_MAX, NAME_MAX
from citizen_card.services.types import DbSession


@dataclass(frozen=True)
class RegistryKeys:
    master_key: bytes
    blind_index_key: bytes
    keystore: KeyStore

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistryKeys:
        return cls(
            settings.master_key, settings.blind_index_key, open_keystore(settings.keystore_url)
        )


@dataclass(frozen=True)
class RegistryPolicy:
    collect_date_of_birth: bool = True
    collect_gender: bool = False
    max_photo_bytes: int = 8 * 1024 * 1024


@dataclass(frozen=True)
class PrintedName:
    """The name as a card prints it and its QR code signs it: the name as written, and
    the Latin form printed under it when the name is in another script."""

    name: str
    latin: str | None = None


@dataclass(frozen=True)
class ResidentDetails:
    """The personal data of one resident, in clear, as the counter sees it."""

    given_names: str
    family_names: str
    name_order: str = names.GIVEN_FIRST  # as the resident writes them: NAME_ORDERS
    latin_name: str | None = None
    used_name: str | None = None
    date_of_birth: date | None = None
    gender: str | None = None
    contact: str | None = None

    @property
    def printed_name(self) -> str:
        """The name as written, as printed on the card and signed in its QR code."""
        return names.printed_name(self.given_names, self.family_names, self.name_order)

    @property
    def printed(self) -> PrintedName:
        """Every form of the name a new card prints and signs; the one place that says
        which strings those are (issuance signs exactly these)."""
        return PrintedName(self.printed_name, self.latin_name)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["date_of_birth"] = self.date_of_birth.isoformat() if self.date_of_birth else None
        return data


@dataclass(frozen=True)
class ResidentRecord:
    """A resident with its details opened; what views and the API show."""

    resident: Resident
    details: ResidentDetails
    evidence: tuple[str, ...] = field(default_factory=tuple)

    @property
    def public_id(self) -> str:
        return self.resident.public_id

    @property
    def has_photo(self) -> bool:
        return self.resident.photo_sealed is not None


def validate_details(
    raw: dict[str, Any], policy: RegistryPolicy, *, today: date
) -> ResidentDetails:
    """Turn submitted values into details, or say which field is wrong.

    :raises ValidationFailed: with ``field`` set to the offending field.
    """
    refuse_unknown_fields(raw, ResidentDetails.__dataclass_fields__)
    # Every field is checked, so that a form names every problem at once.
    problems = Problems()
    given = problems.check(
        lambda: fields.clean_text(
            raw.get("given_names"), "given_names", required=True, limit=NAME_MAX
        )
    )
    family = problems.check(
        lambda: fields.clean_text(
            raw.get("family_names"), "family_names", required=True, limit=NAME_MAX
        )
    )
    latin = problems.check(
        lambda: fields.clean_text(
            raw.get("latin_name"), "latin_name", required=False, limit=2 * NAME_MAX
        )
    )
    if given is not None and family is not None:
        latin = problems.check(lambda: fields.latin_form(given + family, latin))
    order = problems.check(lambda: fields.name_order(raw.get("name_order")))
    used = problems.check(
        lambda: fields.clean_text(raw.get("used_name"), "used_name", required=False, limit=NAME_MAX)
    )
    dob = problems.check(
        lambda: fields.clean_date(raw.get("date_of_birth"), "date_of_birth", today)
    )
    if dob is not None and not policy.collect_date_of_birth:
        problems.found.append(
            ValidationFailed(
                N_("This city does not record dates of birth."), "not_collected", "date_of_birth"
            )
        )
    gender = problems.check(lambda: fields.gender(raw.get("gender") or None, policy.collect_gender))
    contact = problems.check(
        lambda: fields.clean_text(raw.get("contact"), "contact", required=False, limit=CONTACT_MAX)
    )
    problems.raise_any()
    assert given is not None and family is not None and order is not None  # noqa: S101
    return ResidentDetails(
        given_names=given,
        family_names=family,
        name_order=order,
        latin_name=latin,
        used_name=used,
        date_of_birth=dob,
        gender=gender,
        contact=contact,
    )


def _aad(resident: Resident, purpose: str) -> bytes:
    return f"{purpose}:{resident.public_id}".encode()


def data_key(resident: Resident, keys: RegistryKeys, wrapped: bytes | None = None) -> bytes:
    """The resident's data key (``wrapped`` when the caller fetched it already).

    :raises MissingDataKey: the key was destroyed (the resident was erased).
    """
    if wrapped is None:
        wrapped = keys.keystore.get(resident.public_id)
    return privacy.unwrap_data_key(keys.master_key, wrapped, resident.public_id)


def _seal_details(resident: Resident, details: ResidentDetails, key: bytes) -> None:
    payload = json.dumps(details.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
    resident.sealed = privacy.seal(key, payload, _aad(resident, "details"))


def _index_names(
    session: DbSession, resident: Resident, details: ResidentDetails, keys: RegistryKeys
) -> None:
    # The printed form too: "李" and "小龙" print as "李小龙", and are searched that way.
    written = [details.given_names, details.family_names, details.printed_name]
    written += [n for n in (details.latin_name, details.used_name) if n]
    resident.name_tokens = [
        ResidentNameToken(digest=digest)
        for digest in privacy.index_digests(keys.blind_index_key, written)
    ]


def open_details(
    resident: Resident, keys: RegistryKeys, wrapped: bytes | None = None
) -> ResidentDetails:
    key = data_key(resident, keys, wrapped)
    raw = json.loads(privacy.open_sealed(key, resident.sealed, _aad(resident, "details")))
    dob = raw.pop("date_of_birth", None)
    return ResidentDetails(**raw, date_of_birth=date.fromisoformat(dob) if dob else None)


def open_photo(resident: Resident, keys: RegistryKeys) -> bytes | None:
    if resident.photo_sealed is None:
        return None
    return privacy.open_sealed(
        data_key(resident, keys), resident.photo_sealed, _aad(resident, "photo")
    )


def open_thumbnail(resident: Resident, keys: RegistryKeys) -> bytes | None:
    """A small copy of the photo for result lists, or None when there is no photo."""
    photo = open_photo(resident, keys)
    return None if photo is None else thumbnail(photo)


def _evidence_kinds(values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list | tuple | set) or not all(isinstance(v, str) for v in values):
        raise ValidationFailed(N_("Evidence must be a list of kinds."), "invalid", "evidence")
    unknown = set(values) - set(EVIDENCE_KINDS)
    if unknown:
        raise ValidationFailed(
            N_("Evidence kinds are %(kinds)s."),
            "invalid",
            "evidence",
            kinds=", ".join(EVIDENCE_KINDS),
        )
    return sorted(set(values))


def register(
    session: DbSession,
    details: ResidentDetails,
    *,
    keys: RegistryKeys,
    actor: Staff | None,
    now: datetime,
    evidence: Any = None,
    photo: bytes | PreparedPhoto | None = None,
    policy: RegistryPolicy | None = None,
) -> Resident:
    """Create a resident with sealed details, blind indexes, evidence records and,
    when given, a photo (normalised under ``policy``): all or nothing.

    :raises ValidationFailed: bad evidence kinds or an unusable photo.
    """
    kinds = _evidence_kinds(evidence)
    resident = Resident(
        public_id=secrets.token_hex(8),
        created_at=now,
        updated_at=now,
        created_by_id=actor.id if actor else None,
        sealed=b"",
    )
    key = privacy.new_data_key()
    keys.keystore.put(
        resident.public_id, privacy.wrap_data_key(keys.master_key, key, resident.public_id)
    )
    _seal_details(resident, details, key)
    _index_names(session, resident, details, keys)
    resident.evidence = [
        Evidence(kind=kind, seen_by_id=actor.id if actor else None, seen_at=now) for kind in kinds
    ]
    session.add(resident)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="resident.register",
        target_type="resident",
        target_ref=resident.public_id,
        now=now,
        detail={"evidence": kinds},
    )
    if photo is not None:
        set_photo(
            session,
            resident,
            photo,
            keys=keys,
            policy=policy or RegistryPolicy(),
            actor=actor,
            now=now,
        )
    return resident


def update(
    session: DbSession,
    resident: Resident,
    changes: dict[str, Any],
    *,
    keys: RegistryKeys,
    policy: RegistryPolicy,
    actor: Staff | None,
    now: datetime,
    photo: bytes | PreparedPhoto | None = None,
) -> ResidentDetails:
    """Apply changed fields (``None`` clears an optional one); record new evidence;
    replace the photo when one is given.

    :raises ValidationFailed: as :func:`validate_details`, or an unusable photo.
    """
    changes = dict(changes)
    kinds = _evidence_kinds(changes.pop("evidence", None))
    current = open_details(resident, keys)
    merged = current.to_json() | changes
    details = validate_details(merged, policy, today=now.date())
    changed_fields = sorted(
        k for k in changes if getattr(current, k, None) != getattr(details, k, None)
    )
    if changed_fields:
        _seal_details(resident, details, data_key(resident, keys))
        _index_names(session, resident, details, keys)
    for kind in kinds:
        resident.evidence.append(
            Evidence(kind=kind, seen_by_id=actor.id if actor else None, seen_at=now)
        )
    resident.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="resident.update",
        target_type="resident",
        target_ref=resident.public_id,
        now=now,
        # Field names, not values: the audit log must hold no personal data.
        detail={"fields": changed_fields, "evidence": kinds},
    )
    if photo is not None:
        set_photo(session, resident, photo, keys=keys, policy=policy, actor=actor, now=now)
    return details


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo already decoded, cleaned and cropped (:func:`prepare_photo`)."""

    jpeg: bytes


def prepare_photo(data: bytes, policy: RegistryPolicy) -> PreparedPhoto:
    """Decode and clean an upload before any transaction begins: decoding a phone photo
    takes up to a second, and a writing transaction holds SQLite's write lock.

    :raises ValidationFailed: the upload is not a usable image.
    """
    return PreparedPhoto(normalise_photo(data, max_bytes=policy.max_photo_bytes))


def set_photo(
    session: DbSession,
    resident: Resident,
    data: bytes | PreparedPhoto,
    *,
    keys: RegistryKeys,
    policy: RegistryPolicy,
    actor: Staff | None,
    now: datetime,
) -> None:
    """Normalise and seal a photo. Nothing of the upload is kept but the clean pixels.

    :raises ValidationFailed: the upload is not a usable image.
    """
    jpeg = (data if isinstance(data, PreparedPhoto) else prepare_photo(data, policy)).jpeg
    resident.photo_sealed = privacy.seal(data_key(resident, keys), jpeg, _aad(resident, "photo"))
    resident.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="resident.photo",
        target_type="resident",
        target_ref=resident.public_id,
        now=now,
    )


def get(session: DbSession, public_id: str) -> Resident:
    """:raises ResidentNotFound: no resident has this id."""
    # Ids are hex; anything else (a NUL, which PostgreSQL refuses in text) is no one's.
    if not isinstance(public_id, str) or len(public_id) > 32 or not public_id.isalnum():
        raise ResidentNotFound
    resident = session.execute(
        select(Resident).where(Resident.public_id == public_id)
    ).scalar_one_or_none()
    if resident is None:
        raise ResidentNotFound
    return resident


def view(
    session: DbSession, public_id: str, *, keys: RegistryKeys, actor: Staff | None, now: datetime
) -> ResidentRecord:
    """Open a resident's record for a person to read; the reading is audited."""
    resident = get(session, public_id)
    audit.record(
        session,
        actor=actor,
        action="resident.view",
        target_type="resident",
        target_ref=resident.public_id,
        now=now,
    )
    return ResidentRecord(
        resident, open_details(resident, keys), tuple(sorted({e.kind for e in resident.evidence}))
    )


def export(
    session: DbSession, public_id: str, *, keys: RegistryKeys, actor: Staff | None, now: datetime
) -> dict[str, Any]:
    """Everything held about a resident, for the resident (right of access).

    The photo is included as base64 JPEG. The export is audited like a reading.
    """
    resident = get(session, public_id)
    photo = open_photo(resident, keys)
    cards = session.scalars(
        select(Card).where(Card.resident_id == resident.id).order_by(Card.issued_at)
    )
    audit.record(
        session,
        actor=actor,
        action="resident.export",
        target_type="resident",
        target_ref=resident.public_id,
        now=now,
    )
    return {
        "id": resident.public_id,
        "registered_at": resident.created_at.isoformat(),
        "updated_at": resident.updated_at.isoformat(),
        "details": open_details(resident, keys).to_json(),
        "evidence_seen": [
            {"kind": e.kind, "seen_at": e.seen_at.isoformat()} for e in resident.evidence
        ],
        "cards": [
            {
                "card_number": card.number,
                "status": card.status,
                "revocation_reason": card.revocation_reason,
                "issued_at": card.issued_at.isoformat(),
                "expires_at": card.expires_at.isoformat(),
                "printed_at": card.printed_at.isoformat() if card.printed_at else None,
            }
            for card in cards
        ],
        "photo_jpeg_base64": base64.b64encode(photo).decode() if photo else None,
    }


__all__ = [
    "PreparedPhoto",
    "RegistryKeys",
    "RegistryPolicy",
    "ResidentDetails",
    "ResidentRecord",
    "get",
    "open_details",
    "open_photo",
    "prepare_photo",
    "register",
    "set_photo",
    "update",
    "validate_details",
    "view",
]
