"""Demo data: a clerk, an auditor and residents with names in several scripts."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

from PIL import Image, ImageDraw
from sqlalchemy import select

from citizen_card.context import AppContext
from citizen_card.models import Staff
from citizen_card.services import accounts, issuance, registry
from citizen_card.services.types import DbSession
from verify.cardnumber import format_card_number

DEMO_RESIDENTS = [
    ("María José", "García López", None),
    ("Amadou", "Diallo", None),
    ("Олена", "Коваленко", "Olena Kovalenko"),
    ("فاطمة", "الزهراء", "Fatima Al-Zahraa"),
    ("ሰላም", "ተስፋይ", "Selam Tesfay"),
    ("明", "王", "Wang Ming"),
    ("Nguyễn", "Thị Hương", None),
    ("João", "Conceição", None),
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
    for username, role in (("demo-clerk", "clerk"), ("demo-auditor", "auditor")):
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
    for index, (given, family, latin) in enumerate(DEMO_RESIDENTS):
        details = registry.validate_details(
            {"given_names": given, "family_names": family, "latin_name": latin},
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
