"""Intake baseline: the intake record per episode (answers, contributions by profession, goals and their
ratings), and each account's profession

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 09:30:00
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profession", sa.String(40), nullable=True))
    op.create_table(
        "intake_record",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("definition_id", sa.String(40), nullable=False),
        sa.Column("definition_version", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("contributions", sa.JSON(), nullable=False),
        sa.Column("psychosocial_consent", sa.Boolean(), nullable=True),
        sa.Column("goals", sa.JSON(), nullable=False),
        sa.Column("created_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("episode_id"),
        sa.UniqueConstraint("source", "source_id", name="uq_intake_source"),
    )
    with op.batch_alter_table("intake_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_record_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_table("intake_record")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("profession")
