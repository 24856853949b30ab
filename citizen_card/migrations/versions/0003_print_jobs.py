"""batch print jobs in the database

Revision ID: 0003_print_jobs
Revises: 0002_places
Create Date: 2026-12-01 12:00:00

Print jobs and their sealed sheets move from files in one host's instance folder to the
print_job table, so any host can show a job's progress and hand out its sheets. Jobs are
short-lived (an hour), so none are carried over: files left by the older release are
swept by it or may be deleted.
"""

import sqlalchemy as sa
from alembic import op

import citizen_card.models.types

revision = "0003_print_jobs"
down_revision = "0002_places"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "print_job",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("card_ids", sa.Text(), nullable=False),
        sa.Column("sheets_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", citizen_card.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", citizen_card.models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('running', 'done', 'failed', 'fetched', 'withdrawn')",
            name=op.f("ck_print_job_state"),
        ),
        sa.CheckConstraint("done >= 0 AND total >= 0", name=op.f("ck_print_job_counts")),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_print_job_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_job")),
    )
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_print_job_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_print_job_updated_at"), ["updated_at"], unique=False)


def downgrade():
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_print_job_updated_at"))
        batch_op.drop_index(batch_op.f("ix_print_job_staff_id"))
    op.drop_table("print_job")
