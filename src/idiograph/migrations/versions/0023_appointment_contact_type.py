"""Appointments say what they are for (assessment, treatment, ...) and which referral they belong to (issue 19)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_type", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("episode_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointment_episode_id"), ["episode_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_appointment_episode_id_episode", "episode", ["episode_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint("fk_appointment_episode_id_episode", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_appointment_episode_id"))
        batch_op.drop_column("episode_id")
        batch_op.drop_column("contact_type")
