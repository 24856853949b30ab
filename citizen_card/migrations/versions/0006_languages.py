"""a language per staff account

Revision ID: 0006_languages
Revises: 0005_card_handover
Create Date: 2026-12-01 12:30:00

Staff pages follow the account's language (NULL: the city's default, a city_setting
row). Residents' and verifiers' languages are never stored.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_languages"
down_revision = "0005_card_handover"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("language")
