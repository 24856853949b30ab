"""places directory and the editor role

Revision ID: 0002_places
Revises: 0001
Create Date: 2026-12-01 08:00:00

Adds the places that accept the card (place, place_text), services' requests to be
listed (place_join_request), and the staff role ``editor``.
"""

import sqlalchemy as sa
from alembic import op

import citizen_card.models.types

revision = "0002_places"
down_revision = "0001"
branch_labels = None
depends_on = None

CATEGORIES = (
    "'library', 'health', 'education', 'transport', 'culture', 'sport', "
    "'social_services', 'legal_aid', 'food', 'other'"
)


def upgrade():
    op.create_table(
        "place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("opening_hours", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("website", sa.String(length=300), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", citizen_card.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", citizen_card.models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"category IN ({CATEGORIES})", name=op.f("ck_place_category")),
        sa.CheckConstraint("length(ref) BETWEEN 1 AND 64", name=op.f("ck_place_ref_length")),
        sa.CheckConstraint(
            "latitude IS NULL OR (latitude >= -90 AND latitude <= 90)",
            name=op.f("ck_place_latitude_range"),
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
            name=op.f("ck_place_longitude_range"),
        ),
        sa.CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL)", name=op.f("ck_place_coordinates_pair")
        ),
        sa.CheckConstraint(
            "website = '' OR website LIKE 'http://%' OR website LIKE 'https://%'",
            name=op.f("ck_place_website_scheme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place")),
        sa.UniqueConstraint("ref", name=op.f("uq_place_ref")),
    )
    with op.batch_alter_table("place", schema=None) as batch_op:
        batch_op.create_index("ix_place_published_category", ["published", "category"])
        batch_op.create_index(batch_op.f("ix_place_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "place_text",
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("benefit", sa.Text(), nullable=False),
        sa.Column("accessibility", sa.Text(), nullable=False),
        sa.Column("sort_key", sa.String(length=150), nullable=False),
        sa.CheckConstraint("length(language) BETWEEN 2 AND 8", name=op.f("ck_place_text_language")),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_place_text_place_id_place"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("place_id", "language", name=op.f("pk_place_text")),
    )

    op.create_table(
        "place_join_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("benefit", sa.Text(), nullable=False),
        sa.Column("opening_hours", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("website", sa.String(length=300), nullable=False),
        sa.Column("contact_name", sa.String(length=150), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("contact_phone", sa.String(length=40), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", citizen_card.models.types.UTCDateTime(), nullable=False),
        sa.Column("decided_at", citizen_card.models.types.UTCDateTime(), nullable=True),
        sa.Column("place_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'rejected')",
            name=op.f("ck_place_join_request_status"),
        ),
        sa.CheckConstraint(
            f"category IN ({CATEGORIES})", name=op.f("ck_place_join_request_category")
        ),
        sa.CheckConstraint(
            "status = 'pending' OR (contact_name IS NULL AND contact_email IS NULL"
            " AND contact_phone IS NULL AND message IS NULL AND decided_at IS NOT NULL)",
            name=op.f("ck_place_join_request_contact_until_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_place_join_request_place_id_place"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_join_request")),
    )
    with op.batch_alter_table("place_join_request", schema=None) as batch_op:
        batch_op.create_index("ix_place_join_request_status_created_at", ["status", "created_at"])

    # SQLite rebuilds the staff table here (env.py keeps foreign keys from cascading).
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_staff_role"), "role IN ('admin', 'clerk', 'auditor', 'editor')"
        )


def downgrade():
    connection = op.get_bind()
    editors = connection.execute(
        sa.text("SELECT count(*) FROM staff WHERE role = 'editor'")
    ).scalar_one()
    if editors:
        raise RuntimeError(
            f"{editors} editor account(s) exist; the older schema has no editor role. "
            "Delete them (or change their role) before downgrading."
        )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_staff_role"), "role IN ('admin', 'clerk', 'auditor')"
        )
    with op.batch_alter_table("place_join_request", schema=None) as batch_op:
        batch_op.drop_index("ix_place_join_request_status_created_at")
    op.drop_table("place_join_request")
    op.drop_table("place_text")
    with op.batch_alter_table("place", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_updated_at"))
        batch_op.drop_index("ix_place_published_category")
    op.drop_table("place")
