"""Teams say what kind of team they are (issue 19: each team kind is reported apart)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 22:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("kind")
