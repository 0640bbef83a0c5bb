"""observations: an index on (person, time) so a caseload's latest result per person is a lookup, not a scan
of the whole store

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 15:40:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_observation_person_time", "observation", ["person_id", "effective_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_observation_person_time", table_name="observation")
