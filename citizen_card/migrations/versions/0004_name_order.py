"""the order of a resident's names (no schema change)

Revision ID: 0004_name_order
Revises: 0003_print_jobs
Create Date: 2026-12-01 12:30:00

Residents now say in which order they write their names (``given_first`` or
``family_first``), and cards print them that way. The order is kept inside the sealed
details, beside the names it orders, not in a column of its own: a clear column would
tell anyone holding a copy of the database which residents write their family name first,
that is, roughly, who comes from East Asia, Vietnam or Hungary. Sealed details written
before this revision hold no order and read as ``given_first``, so no row changes; the
revision is kept so that the chain records when the meaning of the details changed.
"""

revision = "0004_name_order"
down_revision = "0003_print_jobs"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
