"""Treatment selection: the service's fitted options models, versioned

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 07:00:00
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "selection_model",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("version", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(60), nullable=False),
        sa.Column("fitted_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fitted_by", sa.String(120), nullable=False),
        sa.Column("n_episodes", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("selection_model")
