"""alerts: group key (one open alert per group, e.g. per episode and instrument for not on track)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_key", sa.String(length=300), nullable=True))
        batch_op.create_index("ix_alert_group", ["group_key"], unique=False)
    # Not-on-track alerts were kept one per episode and instrument by their source key "episode|instrument|sN".
    alert = sa.table(
        "alert", sa.column("id", sa.Uuid()), sa.column("kind"), sa.column("source_key"), sa.column("group_key")
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(alert.c.id, alert.c.source_key).where(alert.c.kind == "not-on-track")).all()
    for alert_id, key in rows:
        conn.execute(
            alert.update().where(alert.c.id == alert_id).values(group_key="not-on-track|" + key.rsplit("|", 1)[0])
        )


def downgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_group")
        batch_op.drop_column("group_key")
