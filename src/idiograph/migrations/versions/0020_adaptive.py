"""Adaptive assessment: a self-report link may ask an adaptive short form one question at a time (its mode,
answers so far and step); a response may be adaptive (items asked in order, estimated total with its 95%
interval, decision at the cut, stopping reason, item bank version)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("self_report_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mode", sa.String(length=20), server_default="full", nullable=False))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("step", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adaptive", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("adaptive_asked", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("estimate", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("estimate_lower", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("estimate_upper", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("adaptive_cut", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("adaptive_p_above", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("decision", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("stop_reason", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("bank_version", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        for name in (
            "bank_version",
            "stop_reason",
            "decision",
            "adaptive_p_above",
            "adaptive_cut",
            "estimate_upper",
            "estimate_lower",
            "estimate",
            "adaptive_asked",
            "adaptive",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("self_report_link", schema=None) as batch_op:
        batch_op.drop_column("step")
        batch_op.drop_column("progress")
        batch_op.drop_column("mode")
