"""audit: re-key the chain with an HMAC under the audit key (kept outside the database)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:00:00

The unkeyed SHA-256 chain is checked whole first; a broken trail stops the upgrade (fix it, or keep the old
release, before going on). An intact one is re-hashed record by record under the key, in order.
"""

import hashlib
import hmac
import json
from typing import Any

import sqlalchemy as sa
from alembic import context, op

import idiograph.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Frozen here as they were at this revision, so later changes to the application cannot change what this
# migration computes: the record's fields, their canonical form, the old and the new hash.
GENESIS = "0" * 64
BATCH = 5000

audit_record = sa.table(
    "audit_record",
    sa.column("seq", sa.Integer()),
    sa.column("at", idiograph.db.UTCDateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("role", sa.String()),
    sa.column("action", sa.String()),
    sa.column("resource_type", sa.String()),
    sa.column("resource_id", sa.String()),
    sa.column("person_id", sa.Uuid()),
    sa.column("reason", sa.Text()),
    sa.column("detail", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _fields(r: Any) -> dict[str, Any]:
    return {
        "at": r["at"].isoformat(timespec="microseconds"),
        "actor": r["actor"],
        "actor_id": str(r["actor_id"]) if r["actor_id"] else None,
        "role": r["role"],
        "action": r["action"],
        "resource_type": r["resource_type"],
        "resource_id": r["resource_id"],
        "person_id": str(r["person_id"]) if r["person_id"] else None,
        "reason": r["reason"],
        "detail": r["detail"] or {},
    }


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _legacy(prev: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev.encode() + b"\n" + _canonical(fields)).hexdigest()


def _keyed(key: bytes, prev: str, fields: dict[str, Any]) -> str:
    return hmac.new(key, prev.encode() + b"\n" + _canonical(fields), hashlib.sha256).hexdigest()


def upgrade() -> None:
    conn = op.get_bind()
    t = audit_record
    if conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() == 0:
        return
    key = context.config.attributes.get("audit_key")
    if not key:
        raise RuntimeError(
            "re-keying the audit trail needs the audit key: run `idiograph db upgrade` (IDIOGRAPH_AUDIT_KEY)"
        )
    secret = str(key).encode("utf-8")
    rewrite = (
        t.update()
        .where(t.c.seq == sa.bindparam("b_seq"))
        .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash"))
    )
    prev_old, prev_new, last_seq = GENESIS, GENESIS, 0
    while True:  # in pages of BATCH by seq, verified and re-keyed as it goes (one transaction: a break undoes all)
        page = conn.execute(sa.select(t).where(t.c.seq > last_seq).order_by(t.c.seq).limit(BATCH)).mappings().all()
        if not page:
            break
        changes = []
        for r in page:
            fields = _fields(r)
            if r["seq"] != last_seq + 1 or r["prev_hash"] != prev_old or _legacy(prev_old, fields) != r["hash"]:
                raise RuntimeError(f"the audit trail is broken at record {r['seq']}: not re-keyed; upgrade stopped")
            digest = _keyed(secret, prev_new, fields)
            changes.append({"b_seq": r["seq"], "b_prev": prev_new, "b_hash": digest})
            prev_old, prev_new, last_seq = r["hash"], digest, r["seq"]
        conn.execute(rewrite, changes)
    head = conn.execute(sa.text("SELECT seq, last_hash FROM audit_head WHERE id = 1")).one_or_none()
    if head is not None and (head[0], head[1]) != (last_seq, prev_old):
        raise RuntimeError(f"the audit head ({head[0]}) does not match the last record ({last_seq}): upgrade stopped")
    conn.execute(sa.text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev_new})


def downgrade() -> None:
    raise RuntimeError("the keyed audit chain cannot be turned back into the unkeyed one")
