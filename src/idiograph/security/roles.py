"""Roles and what each may do. Pure data: the route-walk test reads the same table the app enforces."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    PERSON_READ = "person:read"
    PERSON_WRITE = "person:write"
    BREAK_GLASS = "person:break-glass"
    DATA_IMPORT = "data:import"
    DATA_EXPORT = "data:export"
    BREAK_GLASS_REVIEW = "break-glass:review"
    AUDIT_READ = "audit:read"
    USER_MANAGE = "user:manage"
    SERVICE_SUMMARY = "service:summary"
    SIGNED_IN = "signed-in"
    CRISIS_READ = "crisis:read"  # the crisis summary of anyone (crisis teams respond to people on no caseload)
    SYSTEM_OPERATE = "system:operate"  # rule failures on stored data: see and retry them (ids only, no records)


class Role(StrEnum):
    CLINICIAN = "clinician"
    CARE_COORDINATOR = "care_coordinator"
    SENIOR_CLINICIAN = "senior_clinician"
    SERVICE_LEAD = "service_lead"
    COMMISSIONER = "commissioner"
    ADMIN = "admin"
    CRISIS_TEAM = "crisis_team"


P = Permission
_CARE = {P.PERSON_READ, P.PERSON_WRITE, P.BREAK_GLASS, P.DATA_IMPORT, P.DATA_EXPORT, P.SIGNED_IN}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLINICIAN: frozenset(_CARE),
    Role.CARE_COORDINATOR: frozenset(_CARE),
    Role.SENIOR_CLINICIAN: frozenset(_CARE | {P.BREAK_GLASS_REVIEW, P.SERVICE_SUMMARY}),
    Role.SERVICE_LEAD: frozenset({P.PERSON_READ, P.BREAK_GLASS, P.BREAK_GLASS_REVIEW, P.SERVICE_SUMMARY, P.SIGNED_IN}),
    # Commissioners see aggregates only: no permission touches person-level data.
    Role.COMMISSIONER: frozenset({P.SERVICE_SUMMARY, P.SIGNED_IN}),
    # Administrators run the system (accounts, audit, bulk loads) but do not browse records.
    Role.ADMIN: frozenset({P.USER_MANAGE, P.AUDIT_READ, P.DATA_IMPORT, P.SYSTEM_OPERATE, P.SIGNED_IN}),
    # A crisis team sees what a crisis response needs - identity, current risk, the crisis plan - for anyone,
    # every read audited; nothing else of the record.
    Role.CRISIS_TEAM: frozenset({P.CRISIS_READ, P.SIGNED_IN}),
}

PERSON_LEVEL = frozenset({P.PERSON_READ, P.PERSON_WRITE, P.BREAK_GLASS, P.DATA_EXPORT, P.CRISIS_READ})


def has_permission(role: Role | str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[Role(role)]


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}; expected one of: {allowed}") from None
