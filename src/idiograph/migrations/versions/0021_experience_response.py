"""People's experience of choice (issue 19): answers to the experience forms sent through a self-report link

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:40:00
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TS = idiograph.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "experience_response",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=True),
        sa.Column("link_id", sa.Uuid(), nullable=True),
        sa.Column("form", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("authored_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["link_id"], ["self_report_link.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_id"),
    )
    with op.batch_alter_table("experience_response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_experience_response_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_experience_response_authored_at"), ["authored_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("experience_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experience_response_authored_at"))
        batch_op.drop_index(batch_op.f("ix_experience_response_person_id"))
    op.drop_table("experience_response")
