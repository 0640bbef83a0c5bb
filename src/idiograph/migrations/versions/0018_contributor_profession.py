"""Each decision and review keeps the profession of who made it (one picture from every discipline)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_profession", sa.String(40), nullable=True))
    with op.batch_alter_table("episode_review", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completed_profession", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("episode_review", schema=None) as batch_op:
        batch_op.drop_column("completed_profession")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("requested_profession")
