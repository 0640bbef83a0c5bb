"""security: server-side sessions, sign-in throttle per account and per client address

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_signins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", idiograph.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("password_changed_at", idiograph.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "user_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=60), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index("ix_user_session_user", ["user_id", "revoked_at"], unique=False)
    op.create_table(
        "sign_in_throttle",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("address"),
    )


def downgrade() -> None:
    op.drop_table("sign_in_throttle")
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index("ix_user_session_user")
    op.drop_table("user_session")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_signins")
