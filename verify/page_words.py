"""The words the verify pages' scripts show, translated on the server.

The scripts (verify/static/verdict.js, scan.js) hold no user-visible text: the page's
JSON config carries these, in the request's language. Each verdict has a heading (the
decision), what happened, and what to do next; verdict.js picks the words, the colour
and the icon from the reason.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

__all__ = ["page_strings"]


def page_strings() -> dict[str, Any]:
    """Every word the page scripts show, translated here so the JS holds no English.

    Each verdict has a heading (the decision), what happened, and what to do next;
    verdict.js picks the words, the colour and the icon from the reason.
    """
    do_not_treat_as_valid = _(
        "Do not treat the card as valid yet. Connect to the internet and check again."
    )
    forged_next = _(
        "Do not accept the card. If the holder thinks this is a mistake, "
        "they can ask the city's card office."
    )
    return {
        "verdicts": {
            "ok": {
                "title": _("Valid"),
                "what": _("A genuine card of the city, in date and not cancelled."),
                "next": _("Compare the photo on the card with the person in front of you."),
            },
            "revoked": {
                "title": _("Cancelled — do not accept"),
                "what": _("The city has cancelled this card."),
                "next": _("Do not accept it. The holder can ask the city's card office about it."),
            },
            "suspended": {
                "title": _("Suspended"),
                "what": _("The city has suspended this card for now."),
                "next": _(
                    "Do not accept it for now. The holder can ask the city's card office about it."
                ),
            },
            "expired": {
                "title": _("Expired on {date}"),
                "what": _("This card is past its expiry date."),
                "next": _("Do not accept it. The holder can renew it at the city's card office."),
            },
            "not_yet_valid": {
                "title": _("Not valid yet"),
                "what": _("This card is valid from {date}."),
                "next": _(
                    "Do not accept it before then. If that date has passed, "
                    "check the date and time of this device."
                ),
            },
            "bad_signature": {
                "title": _("Possibly forged — do not accept"),
                "what": _("The code was changed, or it was not made by the city."),
                "next": forged_next,
            },
            "unknown_key": {
                "title": _("Possibly forged — do not accept"),
                "what": _("The code does not carry the city's signature."),
                "next": forged_next,
            },
            "key_revoked": {
                "title": _("Recalled — do not accept"),
                "what": _(
                    "The city has recalled all cards made with the same signature "
                    "as this one, after a security problem."
                ),
                "next": _(
                    "Do not accept it. The holder can get a new card at the city's card office."
                ),
            },
            "unknown_issuer": {
                "title": _("Unknown issuer — do not accept"),
                "what": _("This card comes from a city this service does not recognise."),
                "next": _("Do not accept it here as a local citizenship card."),
            },
            "malformed": {
                "title": _("Could not read the code — scan again"),
                "what": _("This is not a card code, or it was damaged when scanned."),
                "next": _(
                    "Scan the QR code on the card again, held flat and in good light. If it "
                    "still fails, the card may be damaged: the holder can ask for a new one."
                ),
            },
            "status_unknown": {
                "title": _("Cannot confirm — status not checked"),
                "what": _(
                    "The card is genuine and in date, but this device could not check "
                    "whether the city has cancelled it."
                ),
                "next": do_not_treat_as_valid,
            },
        },
        # status_unknown with a list that is too old: it says from when the list is.
        "status_stale": {
            "title": _("Cannot confirm — status out of date"),
            "what": _(
                "The card is genuine and in date, but the newest list of cancelled cards "
                "on this device is from {time}: too old to be sure."
            ),
            "next": do_not_treat_as_valid,
        },
        "states": {
            "pending": {"title": _("Checking…")},
            "idle": {
                "title": _("Ready to scan"),
                "what": _("Scan a card with the camera or a barcode scanner."),
            },
            "no_token": {
                "title": _("Scan a card"),
                "what": _("To check a card, scan the QR code on it with the phone camera."),
            },
            "scan_another": {
                "title": _("Scan another card"),
                "what": _(
                    "The last result is no longer shown. To check a card, "
                    "scan the QR code on it with the phone camera."
                ),
            },
            "offline": {
                "title": _("Cannot check — no connection"),
                "what": _(
                    "This device could not reach the city's server, and has no saved copy "
                    "of what it needs to check the card."
                ),
                "next": _("Connect to the internet and check again."),
            },
        },
        "name_check": _("Check that the name on the card is exactly this."),
        "names_check": _("Check that the names on the card are exactly these."),
        "labels": {
            "valid_until": _("Valid until"),
            "expires": _("Expiry date"),
        },
        "status_from": _("Checked against the city's list of cancelled cards from {time}."),
        "checked_by_server": _("Checked by the city's server."),
        "checked_at": _("Checked at {time}."),
        "camera": {
            "start": _("Start camera"),
            "stop": _("Stop camera"),
            "starting": _("Starting the camera…"),
            "scanning": _("Camera on. Hold the QR code on the card in front of it."),
            "denied": _("The camera could not be used. Type or scan the code into the field."),
            "unsupported": _("This browser has no camera access. Use the text field."),
            "stopped": _("Camera off."),
        },
    }
