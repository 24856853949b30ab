"""Demo data: a clerk, an auditor, an editor, residents with names in several scripts,
and a dozen places that accept the card."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

from PIL import Image, ImageDraw
from sqlalchemy import select

from citizen_card.context import AppContext
from citizen_card.models import Place, Staff
from citizen_card.services import accounts, issuance, places, registry
from citizen_card.services.names import FAMILY_FIRST, GIVEN_FIRST
from citizen_card.services.types import DbSession
from verify.cardnumber import format_card_number

# (given names, family names, Latin form, name order): each as its people write it.
DEMO_RESIDENTS = [
    ("María José", "García López", None, GIVEN_FIRST),
    ("Amadou", "Diallo", None, GIVEN_FIRST),
    ("Олена", "Коваленко", "Olena Kovalenko", GIVEN_FIRST),
    ("فاطمة", "الزهراء", "Fatima Al-Zahraa", GIVEN_FIRST),
    ("ሰላም", "ተስፋይ", "Selam Tesfay", GIVEN_FIRST),
    ("明", "王", "Wang Ming", FAMILY_FIRST),  # printed 王明
    ("Thị Hương", "Nguyễn", None, FAMILY_FIRST),  # Nguyễn Thị Hương
    ("João", "Conceição", None, GIVEN_FIRST),
    ("Eszter", "Nagy", None, FAMILY_FIRST),  # Nagy Eszter
    ("花子", "山田", "Yamada Hanako", FAMILY_FIRST),  # 山田花子
    ("민준", "김", "Kim Minjun", FAMILY_FIRST),  # 김민준
]


def demo_photo(seed: int) -> bytes:
    rng = random.Random(seed)  # noqa: S311 — picture colours, not secrets
    image = Image.new("RGB", (420, 540), (rng.randint(150, 230), rng.randint(150, 230), 220))
    draw = ImageDraw.Draw(image)
    skin = (rng.randint(90, 230), rng.randint(70, 190), rng.randint(50, 160))
    draw.ellipse((120, 90, 300, 310), fill=skin)
    draw.rectangle((80, 330, 340, 540), fill=(rng.randint(0, 120), 60, 110))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def fill_demo(session: DbSession, ctx: AppContext) -> Iterator[str]:
    now = ctx.now()
    for username, role in (
        ("demo-clerk", "clerk"),
        ("demo-auditor", "auditor"),
        ("demo-editor", "editor"),
    ):
        if session.execute(select(Staff).where(Staff.username == username)).scalar_one_or_none():
            yield f"{username} exists already"
            continue
        password = accounts.generate_password()
        accounts.create_staff(
            session,
            username=username,
            role=role,
            password=password,
            policy=ctx.password_policy,
            now=now,
            actor=None,
        )
        yield f"Created {role} {username} with one-time password {password}"
    for index, (given, family, latin, order) in enumerate(DEMO_RESIDENTS):
        details = registry.validate_details(
            {
                "given_names": given,
                "family_names": family,
                "latin_name": latin,
                "name_order": order,
            },
            ctx.registry_policy,
            today=now.date(),
        )
        resident = registry.register(
            session,
            details,
            keys=ctx.registry_keys,
            actor=None,
            now=now,
            evidence=["identity", "residence"],
        )
        registry.set_photo(
            session,
            resident,
            demo_photo(index),
            keys=ctx.registry_keys,
            policy=ctx.registry_policy,
            actor=None,
            now=now,
        )
        issued = issuance.issue(session, resident, settings=ctx.settings, actor=None, now=now)
        yield (
            f"  {details.printed_name}: card {format_card_number(issued.card.number)}, "
            f"download code {issued.download_code}"
        )
    yield f"Registered {len(DEMO_RESIDENTS)} demo residents, each with a card"
    yield from fill_demo_places(session, ctx)


# (ref, category, English name, French name, benefit in English, in French, lat, lon)
DEMO_PLACES: list[tuple[str, str, str, str, str, str, float | None, float | None]] = [
    (
        "central-library",
        "library",
        "Central Library",
        "Bibliothèque centrale",
        "Free membership and free computer use.",
        "Inscription et ordinateurs gratuits.",
        38.7139,
        -9.1394,
    ),
    (
        "river-library",
        "library",
        "Riverside Library",
        "Bibliothèque du fleuve",
        "Free membership; language courses at half price.",
        "Inscription gratuite ; cours de langue à moitié prix.",
        38.7071,
        -9.1355,
    ),
    (
        "hill-library",
        "library",
        "Hill Street Library",
        "Bibliothèque de la colline",
        "Free membership.",
        "Inscription gratuite.",
        38.7223,
        -9.1503,
    ),
    (
        "school-library",
        "library",
        "Children's Book Room",
        "Salle de lecture des enfants",
        "Free entry and story hours for children.",
        "Entrée libre et heures du conte.",
        None,
        None,
    ),
    (
        "health-centre-east",
        "health",
        "East Health Centre",
        "Centre de santé Est",
        "Consultations with a general practitioner, whatever your papers.",
        "Consultations de médecine générale, quels que soient vos papiers.",
        38.7302,
        -9.1201,
    ),
    (
        "health-centre-west",
        "health",
        "West Health Centre",
        "Centre de santé Ouest",
        "Vaccinations and consultations.",
        "Vaccinations et consultations.",
        38.7158,
        -9.1702,
    ),
    (
        "dental-clinic",
        "health",
        "Community Dental Clinic",
        "Clinique dentaire solidaire",
        "Dental care at a reduced price.",
        "Soins dentaires à prix réduit.",
        38.7411,
        -9.1455,
    ),
    (
        "mental-health",
        "health",
        "Listening Point",
        "Point d'écoute",
        "Free, confidential talks with a psychologist.",
        "Entretiens gratuits et confidentiels avec un psychologue.",
        None,
        None,
    ),
    (
        "legal-aid-office",
        "legal_aid",
        "Legal Aid Office",
        "Bureau d'aide juridique",
        "Free advice on housing, work and residence rights.",
        "Conseil gratuit : logement, travail, droit au séjour.",
        38.7100,
        -9.1420,
    ),
    (
        "workers-rights",
        "legal_aid",
        "Workers' Rights Desk",
        "Permanence droits des travailleurs",
        "Free advice on contracts and unpaid wages.",
        "Conseil gratuit sur les contrats et salaires impayés.",
        38.7260,
        -9.1330,
    ),
    (
        "tenants-union",
        "legal_aid",
        "Tenants' Advice Centre",
        "Conseil aux locataires",
        "Free help with a landlord or an eviction.",
        "Aide gratuite face à un propriétaire ou une expulsion.",
        None,
        None,
    ),
    (
        "family-law",
        "legal_aid",
        "Family Law Clinic",
        "Permanence droit de la famille",
        "Free first consultation.",
        "Première consultation gratuite.",
        38.7190,
        -9.1250,
    ),
]


def fill_demo_places(session: DbSession, ctx: AppContext) -> Iterator[str]:
    languages = places.Languages.from_settings(ctx.settings)
    existing = set(session.execute(select(Place.ref)).scalars())
    added = 0
    for ref, category, name_en, name_fr, benefit_en, benefit_fr, lat, lon in DEMO_PLACES:
        if ref in existing:
            continue
        raw = {
            "ref": ref,
            "category": category,
            "address": f"{10 + added} Example Street",
            "latitude": "" if lat is None else str(lat),
            "longitude": "" if lon is None else str(lon),
            "opening_hours": "Mon-Fri 9:00-17:00",
            f"name_{languages.default}": name_en,
            f"benefit_{languages.default}": benefit_en,
        }
        if "fr" in languages.available and languages.default != "fr":
            raw |= {"name_fr": name_fr, "benefit_fr": benefit_fr}
        values = places.validate(raw, languages)
        places.create_place(
            session, values, languages=languages, actor=None, now=ctx.now(), published=True
        )
        added += 1
    yield f"Added {added} demo places in 3 categories ({len(existing)} were there already)"
