"""pipeline: a rule with an open failure for a person holds their later results until it is retried

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_hold",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("failure_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["failure_id"], ["rule_failure.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", "rule", "failure_id"),
    )
    with op.batch_alter_table("rule_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rule_hold_failure_id"), ["failure_id"], unique=False)
    # failures already open: hold their people from now on
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, rule, people FROM rule_failure WHERE resolved_at IS NULL")).all()
    import json
    import uuid

    hold = sa.table(
        "rule_hold", sa.column("person_id", sa.Uuid()), sa.column("rule"), sa.column("failure_id", sa.Uuid())
    )
    for fid, rule, people in rows:
        ids = json.loads(people) if isinstance(people, str) else people
        fid = fid if isinstance(fid, uuid.UUID) else uuid.UUID(str(fid))
        values = [{"person_id": uuid.UUID(p), "rule": rule, "failure_id": fid} for p in sorted(set(ids))]
        if values:
            conn.execute(hold.insert(), values)


def downgrade() -> None:
    with op.batch_alter_table("rule_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rule_hold_failure_id"))
    op.drop_table("rule_hold")
