"""cards waiting to be handed over

Revision ID: 0005_card_handover
Revises: 0004_name_order
Create Date: 2026-12-01 11:00:00

A renewal or replacement (other than for a lost or stolen card) no longer revokes the
resident's working card at once: the new card is "pending" until it is handed over, and
handing it over revokes the card it replaces (``replaces_id``) in the same transaction.
At most one pending card per resident. No existing row changes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_card_handover"
down_revision = "0004_name_order"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('active', 'suspended', 'revoked')"
NEW_STATUSES = "status IN ('active', 'suspended', 'revoked', 'pending')"


def upgrade():
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_card_replaces_id_card"),
            "card",
            ["replaces_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_constraint(batch_op.f("ck_card_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_card_status"), sa.text(NEW_STATUSES))
        batch_op.create_index(
            "uq_card_one_pending_per_resident",
            ["resident_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade():
    # The older release has no pending state: cards never handed over are withdrawn (their
    # rows stay, revoked, so their status entries are never reused); the cards they would
    # have replaced stay active.
    op.execute(
        "UPDATE card SET status = 'revoked', revocation_reason = 'withdrawn' "
        "WHERE status = 'pending'"
    )
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_index("uq_card_one_pending_per_resident")
        batch_op.drop_constraint(batch_op.f("ck_card_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_card_status"), sa.text(OLD_STATUSES))
        batch_op.drop_constraint(batch_op.f("fk_card_replaces_id_card"), type_="foreignkey")
        batch_op.drop_column("replaces_id")
