"""tasks: what a team must do (a person's request, a governance review's follow-up), open until done with a note

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:20:00
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("person_id", sa.Uuid(), sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("to_role", sa.String(40), nullable=True),
        sa.Column("team_id", sa.Uuid(), sa.ForeignKey("team.id", ondelete="CASCADE"), nullable=True),
        sa.Column("source_key", sa.String(300), nullable=True, unique=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("done_by", sa.String(120), nullable=True),
        sa.Column("done_at", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_note", sa.Text(), nullable=True),
    )
    op.create_index("ix_task_person_id", "task", ["person_id"])
    op.create_index("ix_task_status_due", "task", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_task_status_due", table_name="task")
    op.drop_index("ix_task_person_id", table_name="task")
    op.drop_table("task")
