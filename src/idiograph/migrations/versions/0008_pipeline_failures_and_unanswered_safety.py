"""pipeline: rule failures; questionnaire responses: safety items left unanswered

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:30:00
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_failure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("failed_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("people", sa.JSON(), nullable=False),
        sa.Column("observations", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rule_failure", schema=None) as batch_op:
        batch_op.create_index("ix_rule_failure_open", ["resolved_at", "failed_at"], unique=False)
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("safety_unanswered", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.drop_column("safety_unanswered")
    with op.batch_alter_table("rule_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_failure_open")
    op.drop_table("rule_failure")
