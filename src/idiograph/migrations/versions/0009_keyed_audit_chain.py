"""audit: re-key the chain with an HMAC under the audit key (kept outside the database)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:00:00

The unkeyed SHA-256 chain is checked whole first; a broken trail stops the upgrade (fix it, or keep the old
release, before going on). An intact one is re-hashed record by record under the key, in order.
"""

import uuid

import sqlalchemy as sa
from alembic import context, op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from idiograph.security.audit import Actor, _fields
    from idiograph.security.audit_chain import GENESIS, legacy_hash, record_hash
    from idiograph.security.model import AuditRecord

    conn = op.get_bind()
    table = AuditRecord.__table__
    if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0:
        return
    key = context.config.attributes.get("audit_key")
    if not key:
        raise RuntimeError(
            "re-keying the audit trail needs the audit key: run `idiograph db upgrade` (IDIOGRAPH_AUDIT_KEY)"
        )
    prev_old, prev_new, last_seq = GENESIS, GENESIS, 0
    rows = conn.execute(sa.select(table).order_by(table.c.seq)).mappings().all()
    new_hashes: list[tuple[int, str, str]] = []
    for r in rows:
        actor_id = uuid.UUID(str(r["actor_id"])) if r["actor_id"] else None
        person_id = uuid.UUID(str(r["person_id"])) if r["person_id"] else None
        fields = _fields(
            r["at"],
            Actor(actor_id, r["actor"], r["role"]),
            r["action"],
            r["resource_type"],
            r["resource_id"],
            person_id,
            r["reason"],
            r["detail"] or {},
        )
        if r["seq"] != last_seq + 1 or r["prev_hash"] != prev_old or legacy_hash(prev_old, fields) != r["hash"]:
            raise RuntimeError(f"the audit trail is broken at record {r['seq']}: not re-keyed; upgrade stopped")
        digest = record_hash(str(key).encode("utf-8"), prev_new, fields)
        new_hashes.append((r["seq"], prev_new, digest))
        prev_old, prev_new, last_seq = r["hash"], digest, r["seq"]
    head = conn.execute(sa.text("SELECT seq, last_hash FROM audit_head WHERE id = 1")).one_or_none()
    if head is not None and (head[0], head[1]) != (last_seq, prev_old):
        raise RuntimeError(f"the audit head ({head[0]}) does not match the last record ({last_seq}): upgrade stopped")
    for seq, prev, digest in new_hashes:
        conn.execute(table.update().where(table.c.seq == seq).values(prev_hash=prev, hash=digest))
    conn.execute(sa.text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev_new})


def downgrade() -> None:
    raise RuntimeError("the keyed audit chain cannot be turned back into the unkeyed one")
