"""FHIR Bulk Data exports: the asynchronous $export requests and their files

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_export",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("requested_by", sa.String(120), nullable=False),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("team_id", sa.Uuid(), sa.ForeignKey("team.id", ondelete="CASCADE"), nullable=True),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("request_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress", sa.String(200), nullable=False),
        sa.Column("requested_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("transaction_time", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bulk_export")
