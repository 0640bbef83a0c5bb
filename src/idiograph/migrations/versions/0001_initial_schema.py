"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import idiograph.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "observation_code",
        sa.Column("system", sa.String(length=300), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("display", sa.String(length=300), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("first_seen_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system", "code"),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("given_name", sa.String(length=120), nullable=False),
        sa.Column("family_name", sa.String(length=120), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("gender_identity", sa.String(length=80), nullable=True),
        sa.Column("ethnicity", sa.String(length=2), nullable=True),
        sa.Column("deprivation_decile", sa.Integer(), nullable=True),
        sa.Column("preferred_language", sa.String(length=35), nullable=True),
        sa.Column("nhs_number", sa.String(length=10), nullable=True),
        sa.Column("created_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nhs_number"),
    )
    op.create_table(
        "team",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "audit_record",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("resource_type", sa.String(length=60), nullable=False),
        sa.Column("resource_id", sa.String(length=200), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.create_index("ix_audit_person", ["person_id", "seq"], unique=False)

    op.create_table(
        "break_glass_grant",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["reviewed_by"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("break_glass_grant", schema=None) as batch_op:
        batch_op.create_index("ix_break_glass_user_person", ["user_id", "person_id"], unique=False)

    op.create_table(
        "caseload_assignment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("lead_user_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_user_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "team_id", name="uq_caseload"),
    )
    with op.batch_alter_table("caseload_assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_caseload_assignment_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_caseload_assignment_team_id"), ["team_id"], unique=False)

    op.create_table(
        "condition",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("system", sa.String(length=300), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("display", sa.String(length=300), nullable=False),
        sa.Column("clinical_status", sa.String(length=30), nullable=True),
        sa.Column("onset", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("abatement", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "source_id", name="uq_condition_source"),
    )
    with op.batch_alter_table("condition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_condition_person_id"), ["person_id"], unique=False)

    op.create_table(
        "encounter",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("class_code", sa.String(length=30), nullable=True),
        sa.Column("type_system", sa.String(length=300), nullable=True),
        sa.Column("type_code", sa.String(length=100), nullable=True),
        sa.Column("type_display", sa.String(length=300), nullable=True),
        sa.Column("start", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end", idiograph.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "source_id", name="uq_encounter_source"),
    )
    with op.batch_alter_table("encounter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_encounter_person_id"), ["person_id"], unique=False)

    op.create_table(
        "episode",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("referral_date", sa.Date(), nullable=False),
        sa.Column("referral_source", sa.String(length=40), nullable=False),
        sa.Column("presenting_problem", sa.String(length=60), nullable=False),
        sa.Column("pathway", sa.String(length=60), nullable=False),
        sa.Column("discharge_date", sa.Date(), nullable=True),
        sa.Column("discharge_reason", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "source_id", name="uq_episode_source"),
    )
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_episode_person_id"), ["person_id"], unique=False)

    op.create_table(
        "person_identifier",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("system", sa.String(length=300), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system", "value", name="uq_person_identifier"),
    )
    with op.batch_alter_table("person_identifier", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_identifier_person_id"), ["person_id"], unique=False)

    op.create_table(
        "questionnaire_response",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("authored_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("prorated", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "source_id", name="uq_qr_source"),
    )
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_questionnaire_response_person_id"), ["person_id"], unique=False)

    op.create_table(
        "team_membership",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("user_id", "team_id"),
    )
    op.create_table(
        "observation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=True),
        sa.Column("system", sa.String(length=300), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("effective_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", idiograph.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "source", name="uq_observation_source"),
    )
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observation_group_id"), ["group_id"], unique=False)
        batch_op.create_index(
            "ix_observation_person_code_time", ["person_id", "system", "code", "effective_at"], unique=False
        )

    # The audit trail starts from an empty chain (see security/audit_chain.py).
    op.bulk_insert(
        sa.table(
            "audit_head", sa.column("id", sa.Integer), sa.column("seq", sa.Integer), sa.column("last_hash", sa.String)
        ),
        [{"id": 1, "seq": 0, "last_hash": "0" * 64}],
    )


def downgrade() -> None:
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_index("ix_observation_person_code_time")
        batch_op.drop_index(batch_op.f("ix_observation_group_id"))

    op.drop_table("observation")
    op.drop_table("team_membership")
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaire_response_person_id"))

    op.drop_table("questionnaire_response")
    with op.batch_alter_table("person_identifier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_identifier_person_id"))

    op.drop_table("person_identifier")
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_episode_person_id"))

    op.drop_table("episode")
    with op.batch_alter_table("encounter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encounter_person_id"))

    op.drop_table("encounter")
    with op.batch_alter_table("condition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_condition_person_id"))

    op.drop_table("condition")
    with op.batch_alter_table("caseload_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_caseload_assignment_team_id"))
        batch_op.drop_index(batch_op.f("ix_caseload_assignment_person_id"))

    op.drop_table("caseload_assignment")
    with op.batch_alter_table("break_glass_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_break_glass_user_person")

    op.drop_table("break_glass_grant")
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_person")

    op.drop_table("audit_record")
    op.drop_table("user_account")
    op.drop_table("team")
    op.drop_table("person")
    op.drop_table("observation_code")
    op.drop_table("audit_head")
