"""alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("source_key", sa.String(length=300), nullable=False),
        sa.Column("raised_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_by", sa.String(length=120), nullable=True),
        sa.Column("seen_at", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acted_by", sa.String(length=120), nullable=True),
        sa.Column("acted_at", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("action_note", sa.Text(), nullable=True),
        sa.Column("closed_by", sa.String(length=120), nullable=True),
        sa.Column("closed_at", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "source_key", name="uq_alert_source"),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index("ix_alert_person_status", ["person_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_person_status")

    op.drop_table("alert")
