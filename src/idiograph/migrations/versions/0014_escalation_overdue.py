"""escalations: re-escalation when overdue (level, to whom, when, by whom, why); governance reviews, signed off

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 06:55:00
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("escalated_to", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", idiograph.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("escalated_reason", sa.Text(), nullable=True))
    op.create_table(
        "governance_review",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("team_id", sa.Uuid(), sa.ForeignKey("team.id", ondelete="CASCADE"), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("signed_by", sa.String(120), nullable=False),
        sa.Column("signed_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.UniqueConstraint("team_id", "period_start", name="uq_governance_review_team_period"),
    )


def downgrade() -> None:
    op.drop_table("governance_review")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        for name in ("escalated_reason", "escalated_by", "escalated_at", "escalated_to", "level"):
            batch_op.drop_column(name)
