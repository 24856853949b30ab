"""Name search over blind indexes: how long a clerk waits, with N residents.

Run by hand:
    .venv/bin/python benchmarks/bench_search.py --residents 10000
    .venv/bin/python benchmarks/bench_search.py --residents 100000 \
        --database postgresql://postgres@127.0.0.1:5432/test

The residents are made with the same sealing and blind-index code as the registry
(services.privacy), inserted in bulk; the timed part is ``registry.search`` itself,
which matches digests in SQL and opens the hits' sealed names.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citizen_card.models import Resident, ResidentNameToken  # noqa: E402
from citizen_card.services import privacy, registry, search  # noqa: E402
from citizen_card.services.keystore import data_key, open_keystore  # noqa: E402
from verify.cardnumber import format_card_number, new_card_number  # noqa: E402

GIVEN = [
    "María",
    "José",
    "Ana",
    "Amadou",
    "Olena",
    "Fatima",
    "Selam",
    "Ming",
    "Hương",
    "João",
    "Luis",
    "Ahmed",
    "Sofia",
    "Yusuf",
    "Lina",
    "Omar",
    "Nadia",
    "Ibrahim",
    "Chloé",
    "Léa",
    "Tomás",
    "Inês",
    "Pedro",
    "Aisha",
    "Kwame",
    "Chen",
    "Wei",
    "Priya",
    "Arjun",
    "Elena",
]
FAMILY = [
    "García",
    "López",
    "Diallo",
    "Kovalenko",
    "Zahra",
    "Tesfay",
    "Wang",
    "Nguyễn",
    "Conceição",
    "Silva",
    "Santos",
    "Haddad",
    "Mensah",
    "Okafor",
    "Traoré",
    "Petrov",
    "Rossi",
    "Dubois",
    "Martin",
    "Bernard",
    "Costa",
    "Pereira",
    "Ferreira",
    "Rahman",
    "Khan",
    "Ali",
    "Osei",
    "Mwangi",
    "Ndiaye",
    "Cissé",
]


def make_rows(
    n: int, keys: registry.RegistryKeys, rng: random.Random
) -> tuple[list[dict[str, object]], list[dict[str, object]], list[tuple[str, bytes]]]:
    now = datetime.now(UTC)
    residents, tokens, wrapped = [], [], []
    for i in range(1, n + 1):
        given = " ".join(rng.sample(GIVEN, rng.choice((1, 2))))
        family = " ".join(rng.sample(FAMILY, rng.choice((1, 2)))) + f" {secrets.token_hex(2)}"
        public_id = secrets.token_hex(8)
        key = privacy.new_data_key()
        wrapped.append((public_id, privacy.wrap_data_key(keys.master_key, key, public_id)))
        details = {
            "given_names": given,
            "family_names": family,
            "latin_name": None,
            "used_name": None,
            "date_of_birth": None,
            "gender": None,
            "contact": None,
        }
        sealed = privacy.seal(key, json.dumps(details).encode(), f"details:{public_id}".encode())
        residents.append(
            {
                "id": i,
                "public_id": public_id,
                "sealed": sealed,
                "photo_sealed": None,
                "created_at": now,
                "updated_at": now,
                "created_by_id": None,
            }
        )
        # As registry indexes them: each name, and the printed form (given first here).
        printed = f"{given} {family}"
        for digest in privacy.index_digests(keys.blind_index_key, [given, family, printed]):
            tokens.append({"resident_id": i, "digest": digest})
    return residents, tokens, wrapped


def p95(sorted_times: list[float]) -> float:
    return sorted_times[int(len(sorted_times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument(
        "--database", default=None, help="SQLAlchemy/libpq URL (default: a temporary SQLite file)"
    )
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    from flask import Flask  # noqa: F401 — the app below needs Flask installed

    from citizen_card import create_app
    from citizen_card.extensions import db
    from tests.conftest import make_settings, reset_postgres

    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    if args.database:
        reset_postgres(args.database)
    settings = make_settings(workdir / "instance", args.database)
    app = create_app(settings)
    rng = random.Random(7)
    with app.app_context():
        db.create_all()
        keys = registry.RegistryKeys.from_settings(settings)
        started = time.perf_counter()
        residents, tokens, wrapped = make_rows(args.residents, keys, rng)
        for start in range(0, len(residents), 5000):
            db.session.execute(insert(Resident.__table__), residents[start : start + 5000])
        for start in range(0, len(tokens), 20000):
            db.session.execute(insert(ResidentNameToken.__table__), tokens[start : start + 20000])
        db.session.commit()
        store = open_keystore(settings.keystore_url)
        now = datetime.now(UTC).replace(tzinfo=None)
        with store.engine.begin() as conn:
            conn.execute(
                insert(data_key), [{"ref": r, "wrapped": w, "created_at": now} for r, w in wrapped]
            )
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        took = time.perf_counter() - started
        dialect = db.engine.dialect.name
        print(f"{args.residents} residents, {len(tokens)} index rows, {took:.1f} s ({dialect})")

        queries = [
            "Garcia",
            "garcía lópez",
            "maria",
            "Amadou Diallo",
            "kova",
            "Nguyen Huong",
            "silva joao",
            "zzz",
            format_card_number(new_card_number()),  # a card number: looked up, no holder
        ]
        results: dict[str, list[float]] = {}
        hits: dict[str, int] = {}
        for _round in range(args.queries // len(queries)):
            for query in queries:
                t0 = time.perf_counter()
                found = search.find(db.session, query, keys=keys, actor=None, now=datetime.now(UTC))
                results.setdefault(query, []).append((time.perf_counter() - t0) * 1000)
                hits[query] = len(found)
                db.session.rollback()
        print(f"{'query':<16} {'hits':>5} {'median ms':>10} {'p95 ms':>8}")
        for query, times in results.items():
            times.sort()
            median = statistics.median(times)
            print(f"{query:<16} {hits[query]:>5} {median:>10.2f} {p95(times):>8.2f}")
        everything = sorted(t for times in results.values() for t in times)
        median = statistics.median(everything)
        print(f"all queries: median {median:.2f} ms, p95 {p95(everything):.2f} ms")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
