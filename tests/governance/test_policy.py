"""Delegated-authority policy: every rule and limit as a table of cases, and contradictions refused."""

from __future__ import annotations

import pytest

from idiograph.governance import policy as P

POLICY = P.shipped()
CC, CLIN, SENIOR = "care_coordinator", "clinician", "senior_clinician"


@pytest.mark.parametrize(
    ("role", "change", "risk", "default", "requested", "outcome", "why"),
    [
        # care coordinators: time, place, format, crisis plan freely; frequency within one step
        (CC, "appointment.time", "low", None, None, "allowed", "may change an appointment's time"),
        (CC, "appointment.place", "low", None, None, "allowed", "may change where"),
        (CC, "appointment.format", "medium", None, None, "allowed", "format"),
        (CC, "crisis_plan", "high", None, None, "allowed", "crisis plan"),
        (CC, "appointment.frequency", "low", "weekly", "fortnightly", "allowed", "within 1 step"),
        (CC, "appointment.frequency", "low", "weekly", "twice_weekly", "allowed", "within 1 step"),
        (CC, "appointment.frequency", "low", "weekly", "weekly", "allowed", "within 1 step"),
        (CC, "appointment.frequency", "low", "weekly", "monthly", "escalate", "2 steps from the pathway's weekly"),
        (CC, "appointment.frequency", "low", "weekly", "yearly", "escalate", "frequencies must be among"),
        (CC, "intervention", "low", None, None, "escalate", "may not change the intervention"),
        (CC, "discharge", "low", None, None, "escalate", "may not discharge"),
        # high risk tightens every change to appointments, intervention and discharge - not the crisis plan
        (CC, "appointment.place", "high", None, None, "escalate", "current high-risk assessment"),
        (CC, "appointment.format", "high", None, None, "escalate", "current high-risk assessment"),
        (CC, "appointment.time", "high", None, None, "escalate", "current high-risk assessment"),
        (CC, "appointment.frequency", "high", "weekly", "fortnightly", "escalate", "high-risk"),
        # clinicians: also the intervention
        (CLIN, "intervention", "low", None, None, "allowed", "change the intervention"),
        (CLIN, "intervention", "high", None, None, "escalate", "high-risk"),
        (CLIN, "appointment.frequency", "low", "fortnightly", "six_weekly", "escalate", "2 steps"),
        (CLIN, "discharge", "low", None, None, "escalate", "may not discharge"),
        # senior clinicians approve, so high risk does not escalate their own changes
        (SENIOR, "discharge", "high", None, None, "allowed", "discharge"),
        (SENIOR, "appointment.frequency", "high", "weekly", "six_weekly", "allowed", "how often"),
        # roles without a rule escalate everything
        ("service_lead", "appointment.time", "low", None, None, "escalate", "service lead may not"),
    ],
)
def test_policy_cases(
    role: str, change: str, risk: str, default: str | None, requested: str | None, outcome: str, why: str
) -> None:
    v = P.evaluate(POLICY, P.Request(role, change, risk, default, requested))  # type: ignore[arg-type]
    assert v.outcome == outcome, v
    assert why in v.reason, v.reason
    assert v.policy_version == POLICY.version
    if outcome == "escalate":
        assert v.escalate_to == SENIOR
        assert v.respond_within_hours == (24 if "high-risk" in v.reason else 48)
    else:
        assert v.escalate_to is None


def test_every_change_and_role_of_the_policy_is_explained() -> None:
    text = "\n".join(P.explain(POLICY))
    for phrase in (
        "care coordinator may",
        "clinician may",
        "escalated to a senior clinician",
        "48 hours",
        "24 hours",
        "high-risk",
    ):
        assert phrase in text


def test_unknown_changes_are_refused() -> None:
    with pytest.raises(ValueError, match="change"):
        P.evaluate(POLICY, P.Request(CC, "appointment.colour"))


BASE = """
version: "t1"
name: test
frequency_steps: [weekly, fortnightly]
escalate_to: senior_clinician
respond_within_hours: 48
high_risk: {escalate: [discharge], respond_within_hours: 24}
rules:
  - role: senior_clinician
    may: [appointment.time, appointment.place, appointment.format, appointment.frequency, intervention,
          crisis_plan, discharge]
"""


@pytest.mark.parametrize(
    ("extra", "where", "why"),
    [
        ("  - {role: nurse, may: [appointment.time]}\n", "rules.1.role", "not a role"),
        ("  - {role: clinician, may: [appointment.colour]}\n", "rules.1.may", "not a change"),
        (
            "  - {role: clinician, may: [discharge], within_steps: 1}\n",
            "rules.1.within_steps",
            "applies to appointment.frequency",
        ),
        (
            "  - {role: clinician, may: [appointment.frequency], within_steps: 1}\n"
            "  - {role: clinician, may: [appointment.frequency], within_steps: 2}\n",
            "rules.2",
            "twice with different limits",
        ),
    ],
)
def test_contradictions_are_refused_with_where_and_why(extra: str, where: str, why: str) -> None:
    with pytest.raises(P.PolicyError) as exc:
        P.parse(BASE + extra)
    assert any(w == where and why in r for w, r in exc.value.problems), exc.value.problems


def test_escalating_to_a_role_that_cannot_approve_is_a_contradiction() -> None:
    text = BASE.replace("escalate_to: senior_clinician", "escalate_to: care_coordinator")
    with pytest.raises(P.PolicyError) as exc:
        P.parse(text)
    assert any("care_coordinator receives escalations but may not itself discharge" in r for _, r in exc.value.problems)


def test_schema_problems_name_the_field() -> None:
    with pytest.raises(P.PolicyError) as exc:
        P.parse(BASE.replace("respond_within_hours: 48", "respond_within_hours: 0"))
    assert any(w == "respond_within_hours" for w, _ in exc.value.problems)
    with pytest.raises(P.PolicyError) as exc:
        P.parse("version: [")
    assert "not valid YAML" in str(exc.value)
    with pytest.raises(P.PolicyError):
        P.parse(
            BASE.replace(
                "high_risk: {escalate: [discharge], respond_within_hours: 24}",
                "high_risk: {escalate: [discharge], respond_within_hours: 72}",
            )
        )
