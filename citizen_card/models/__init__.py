"""The SQLAlchemy models, one aggregate per module."""

from citizen_card.models.audit import AuditEvent, AuditHead
from citizen_card.models.card import Card, StatusList
from citizen_card.models.keys import SigningKey
from citizen_card.models.place import Place, PlaceJoinRequest, PlaceText
from citizen_card.models.print_job import PrintJobRow
from citizen_card.models.resident import Evidence, Resident, ResidentNameToken
from citizen_card.models.settings import CitySetting, VerificationCount
from citizen_card.models.staff import ApiToken, Staff, StaffSession

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Card",
    "CitySetting",
    "Evidence",
    "Place",
    "PlaceJoinRequest",
    "PlaceText",
    "PrintJobRow",
    "Resident",
    "ResidentNameToken",
    "SigningKey",
    "Staff",
    "StaffSession",
    "StatusList",
    "VerificationCount",
]
