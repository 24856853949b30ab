"""/places with 2,000 places: how long a visitor's phone waits for the list.

Run by hand:
    .venv/bin/python benchmarks/bench_places.py
    .venv/bin/python benchmarks/bench_places.py --places 2000 \
        --database postgresql://postgres@127.0.0.1:5432/bench

The places are imported with `citizen-card places import`'s own code (services.places_csv)
into the embedded default, a SQLite file (or the PostgreSQL database given). The timed
part is a whole request through the app (routing, session, query, template, headers) by
Flask's test client, without a network in between.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citizen_card import create_app  # noqa: E402
from citizen_card.config import load_settings  # noqa: E402
from citizen_card.extensions import db  # noqa: E402
from citizen_card.services import places_csv  # noqa: E402
from citizen_card.services.places import Languages  # noqa: E402

CATEGORIES = ("library", "health", "education", "transport", "culture", "sport", "legal_aid")
WORDS = ["Central", "Riverside", "North", "Old Town", "Harbour", "Hill", "Garden", "Market"]
KINDS = ["Library", "Health Centre", "School", "Pool", "Museum", "Advice Desk", "Theatre"]


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def places_csv_bytes(count: int, languages: Languages) -> bytes:
    rng = random.Random(7)
    out = io.StringIO()
    columns = places_csv.columns(languages)
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for i in range(count):
        name = f"{rng.choice(WORDS)} {rng.choice(KINDS)} {i}"
        row = {column: "" for column in columns}
        row |= {
            "ref": f"place-{i:05d}",
            "published": "yes" if i % 10 else "no",
            "category": CATEGORIES[i % len(CATEGORIES)],
            f"name_{languages.default}": name,
            f"benefit_{languages.default}": "Free entry for card holders, and half price for "
            "their family on weekends.",
            "address": f"{i} Example Street",
            "opening_hours": "Mon-Fri 9:00-18:00\nSat 10:00-13:00",
            "phone": "+351 21 000 00 00",
        }
        if "fr" in languages.available and languages.default != "fr":
            row["name_fr"] = f"Lieu {i}"
        if i % 3:
            row["latitude"] = f"{38.70 + rng.random() / 20:.5f}"
            row["longitude"] = f"{-9.20 + rng.random() / 10:.5f}"
        writer.writerow(row)
    return out.getvalue().encode()


def timed(client: object, path: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)  # type: ignore[attr-defined]
        body = response.get_data()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        assert body
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--places", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="bench-places-"))
    settings = load_settings(
        instance,
        SECRET_KEY=_key(),
        MASTER_KEY=_key(),
        BLIND_INDEX_KEY=_key(),
        DATABASE_URL=args.database or "",
    )
    app = create_app(settings)
    languages = Languages.from_settings(settings)
    with app.app_context():
        if args.database:
            db.drop_all()
        db.create_all()
        started = time.perf_counter()
        report = places_csv.import_csv(
            db.session,
            places_csv_bytes(args.places, languages),
            languages=languages,
            actor=None,
            now=datetime.now(UTC),
        )
        db.session.commit()
        imported = time.perf_counter() - started
    print(
        f"{report.created} places imported in {imported:.1f} s "
        f"({settings.database_url.split(':', 1)[0]})"
    )

    client = app.test_client()
    cases = [
        ("/places", "first page (30 of ~1,800 published)"),
        ("/places?page=30", "page 30"),
        ("/places?q=library", "search: a word"),
        ("/places?q=harbour%20pool", "search: two words"),
        ("/places?category=health", "filter: a category"),
        ("/places/place-00042", "one place's page"),
        ("/places.json", "GeoJSON, every published place"),
    ]
    for path, _label in cases:
        timed(client, path, 5)  # warm the caches (templates, statements, pages)
    print(f"{'request':<42} {'median':>9} {'p95':>9}")
    for path, label in cases:
        samples = sorted(timed(client, path, args.runs))
        p95 = samples[int(len(samples) * 0.95) - 1]
        print(f"{label:<42} {statistics.median(samples):7.1f}ms {p95:7.1f}ms")
    etag = client.get("/places.json").headers["ETag"]
    revalidated = sorted(_conditional(client, etag) for _ in range(args.runs))
    print(f"{'GeoJSON revalidated (304)':<42} {statistics.median(revalidated):7.1f}ms")


def _conditional(client: object, etag: str) -> float:
    started = time.perf_counter()
    response = client.get("/places.json", headers={"If-None-Match": etag})  # type: ignore[attr-defined]
    assert response.status_code == 304
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
