"""Matching: the therapists a service allocates to, allocations (each by a governed decision), therapy plans

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = idiograph.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "therapist",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("profession", sa.String(40), nullable=True),
        sa.Column("gender", sa.String(20), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("places", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("user_id"),
    )
    with op.batch_alter_table("therapist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_therapist_team_id"), ["team_id"], unique=False)
    op.create_table(
        "allocation",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("therapist_id", sa.Uuid(), nullable=False),
        sa.Column("suggested_id", sa.Uuid(), nullable=True),
        sa.Column("decision_id", sa.Uuid(), nullable=True),
        sa.Column("strength", sa.Float(), nullable=True),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("allocated_by", sa.String(120), nullable=False),
        sa.Column("allocated_at", TS, nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["therapist_id"], ["therapist.id"]),
        sa.ForeignKeyConstraint(["suggested_id"], ["therapist.id"]),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"]),
    )
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.create_index("ix_allocation_person_current", ["person_id", "current"], unique=False)
        batch_op.create_index(batch_op.f("ix_allocation_episode_id"), ["episode_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_allocation_therapist_id"), ["therapist_id"], unique=False)
    op.create_table(
        "therapy_plan",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("allocation_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("answer_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["allocation_id"], ["allocation.id"], ondelete="CASCADE"),
    )
    with op.batch_alter_table("therapy_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_therapy_plan_person_id"), ["person_id"], unique=False)

    op.create_table(
        "therapist_strength",
        sa.Column("therapist_id", sa.Uuid(), nullable=False),
        sa.Column("domain", sa.String(40), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("se", sa.Float(), nullable=False),
        sa.Column("lower", sa.Float(), nullable=False),
        sa.Column("upper", sa.Float(), nullable=False),
        sa.Column("klass", sa.String(20), nullable=False),
        sa.Column("fitted_at", TS, nullable=False),
        sa.Column("settings_version", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(["therapist_id"], ["therapist.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("therapist_id", "domain"),
    )


def downgrade() -> None:
    op.drop_table("therapist_strength")
    op.drop_table("therapy_plan")
    op.drop_table("allocation")
    op.drop_table("therapist")
