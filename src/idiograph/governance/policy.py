"""Delegated-authority policy: who may change what, within which limits, without approval (pure).

A policy is data (``policy.yaml``), validated on load. ``evaluate`` answers one question - may this role
make this change for this person now? - with *allowed* (and the rule that allowed it) or *escalate* (to
whom, by when, and why). ``explain`` says a policy in plain words; ``contradictions`` finds rules that
cannot all be meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from idiograph.security.roles import Role

ROLES = frozenset(r.value for r in Role)

CHANGES = (
    "appointment.time",
    "appointment.place",
    "appointment.format",
    "appointment.frequency",
    "intervention",
    "crisis_plan",
    "discharge",
    "therapist",
)
PLAIN = {
    "appointment.time": "change an appointment's time or day",
    "appointment.place": "change where an appointment happens",
    "appointment.format": "change an appointment's format (in person, video, phone, group)",
    "appointment.frequency": "change how often appointments happen",
    "intervention": "change the intervention",
    "crisis_plan": "update the crisis plan",
    "discharge": "discharge",
    "therapist": "allocate a therapist",
}
Change = str
RiskLevel = Literal["low", "medium", "high"]


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Cfg):
    role: str
    may: tuple[str, ...] = Field(min_length=1)
    within_steps: int | None = Field(default=None, ge=0, le=10)


class HighRisk(_Cfg):
    escalate: tuple[str, ...] = ()
    respond_within_hours: int = Field(ge=1, le=24 * 14)


class Overdue(_Cfg):
    """What happens to an escalation nobody answered by its due time: it is re-escalated, once, to this role."""

    escalate_to: str


class Review(_Cfg):
    """The regular governance review: every ``every_months`` months a ``by`` reviews each team's decisions and
    escalations of the period just ended; it is overdue ``overdue_after_days`` days after the period ends."""

    every_months: int = Field(default=1, ge=1, le=12)
    overdue_after_days: int = Field(default=10, ge=1, le=60)
    by: str = "senior_clinician"


class Policy(_Cfg):
    version: str = Field(min_length=1, max_length=40)
    name: str
    frequency_steps: tuple[str, ...] = Field(min_length=2)
    rules: tuple[Rule, ...]
    escalate_to: str
    respond_within_hours: int = Field(ge=1, le=24 * 30)
    high_risk: HighRisk
    overdue: Overdue | None = None
    review: Review = Review()


class PolicyError(ValueError):
    """The policy file is invalid or contradicts itself; ``problems`` lists (where, why)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{w}: {r}" for w, r in problems))


@dataclass(frozen=True)
class Request:
    """A change someone wants to make for a person."""

    role: str
    change: Change
    risk: RiskLevel = "low"
    default_frequency: str | None = None  # the pathway's default (for frequency changes)
    requested_frequency: str | None = None


@dataclass(frozen=True)
class Verdict:
    outcome: Literal["allowed", "escalate"]
    policy_version: str
    reason: str
    escalate_to: str | None = None
    respond_within_hours: int | None = None


def parse(text: str, where: str = "policy") -> Policy:
    """Load and validate a policy; every problem names its place and reason."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError([(where, f"not valid YAML: {exc}")]) from None
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError([(".".join(str(p) for p in e["loc"]) or where, e["msg"]) for e in exc.errors()]) from None
    problems = contradictions(policy)
    if problems:
        raise PolicyError(problems)
    return policy


def load(path: Path) -> Policy:
    return parse(path.read_text(encoding="utf-8"), str(path))


def shipped() -> Policy:
    return load(Path(__file__).with_name("policy.yaml"))


def contradictions(p: Policy) -> list[tuple[str, str]]:
    """Rules that cannot all be meant: unknown names, two limits for one role and change, escalations
    to a role that could not approve them, high-risk escalations of changes nobody can approve."""
    out: list[tuple[str, str]] = []
    if p.escalate_to not in ROLES:
        out.append(("escalate_to", f"{p.escalate_to!r} is not a role ({', '.join(sorted(ROLES))})"))
    if len(set(p.frequency_steps)) != len(p.frequency_steps):
        out.append(("frequency_steps", "a step is listed twice"))
    seen: dict[tuple[str, str], int | None] = {}
    for i, r in enumerate(p.rules):
        if r.role not in ROLES:
            out.append((f"rules.{i}.role", f"{r.role!r} is not a role"))
        for c in r.may:
            if c not in CHANGES:
                out.append((f"rules.{i}.may", f"{c!r} is not a change ({', '.join(CHANGES)})"))
                continue
            if r.within_steps is not None and c != "appointment.frequency":
                out.append((f"rules.{i}.within_steps", f"a step limit applies to appointment.frequency, not {c}"))
            key = (r.role, c)
            if key in seen and seen[key] != r.within_steps:
                out.append(
                    (
                        f"rules.{i}",
                        f"{r.role} is given {c} twice with different limits ({seen[key]} and {r.within_steps})",
                    )
                )
            seen[key] = r.within_steps
    approver = {c for (role, c), lim in seen.items() if role == p.escalate_to and lim is None}
    for c in CHANGES:
        if c not in approver:
            out.append(("escalate_to", f"{p.escalate_to} receives escalations but may not itself {PLAIN[c]}"))
    for c in p.high_risk.escalate:
        if c not in CHANGES:
            out.append(("high_risk.escalate", f"{c!r} is not a change"))
    if p.overdue is not None:
        if p.overdue.escalate_to not in ROLES:
            out.append(("overdue.escalate_to", f"{p.overdue.escalate_to!r} is not a role"))
        elif p.overdue.escalate_to == p.escalate_to:
            out.append(
                ("overdue.escalate_to", "an overdue escalation must go to someone else, not back to the same role")
            )
    if p.review.by not in ROLES:
        out.append(("review.by", f"{p.review.by!r} is not a role"))
    if p.high_risk.respond_within_hours > p.respond_within_hours:
        out.append(("high_risk.respond_within_hours", "a high-risk escalation cannot be allowed longer than any other"))
    return out


def _grant(p: Policy, role: str, change: Change) -> Rule | None:
    for r in p.rules:
        if r.role == role and change in r.may:
            return r
    return None


def evaluate(p: Policy, req: Request) -> Verdict:
    """May ``req.role`` make ``req.change`` now? Allowed with the rule, or an escalation with its reasons."""
    if req.change not in CHANGES:
        raise ValueError(f"change: {req.change!r} is not one of {', '.join(CHANGES)}")
    reasons: list[str] = []
    rule = _grant(p, req.role, req.change)
    hours = p.respond_within_hours
    if rule is None:
        reasons.append(f"a {req.role.replace('_', ' ')} may not {PLAIN[req.change]} without approval")
    elif rule.within_steps is not None:
        steps = p.frequency_steps
        if req.default_frequency not in steps or req.requested_frequency not in steps:
            reasons.append(f"frequencies must be among {', '.join(steps)} to be judged against the limit")
        else:
            assert req.default_frequency is not None and req.requested_frequency is not None
            moved = abs(steps.index(req.requested_frequency) - steps.index(req.default_frequency))
            if moved > rule.within_steps:
                reasons.append(
                    f"{req.requested_frequency} is {moved} steps from the pathway's {req.default_frequency}; "
                    f"a {req.role.replace('_', ' ')} may move {rule.within_steps}"
                )
    if req.risk == "high" and req.change in p.high_risk.escalate and req.role != p.escalate_to:
        reasons.append("the person has a current high-risk assessment")
        hours = p.high_risk.respond_within_hours
    if reasons:
        return Verdict("escalate", p.version, "; ".join(reasons), p.escalate_to, hours)
    assert rule is not None
    limit = f" within {rule.within_steps} step(s) of the pathway default" if rule.within_steps is not None else ""
    return Verdict("allowed", p.version, f"a {req.role.replace('_', ' ')} may {PLAIN[req.change]}{limit}")


def explain(p: Policy) -> list[str]:
    """The policy in plain words, one sentence per line."""
    lines = [f"{p.name} (version {p.version})."]
    for r in p.rules:
        what = ", ".join(PLAIN[c] for c in r.may)
        limit = (
            f", within {r.within_steps} step(s) of the pathway's default frequency"
            if r.within_steps is not None
            else ""
        )
        lines.append(f"A {r.role.replace('_', ' ')} may {what}{limit}, without approval.")
    lines.append(
        f"Anything else is escalated to a {p.escalate_to.replace('_', ' ')}, who must answer within "
        f"{p.respond_within_hours} hours; the change is applied only when approved."
    )
    if p.high_risk.escalate:
        what = ", ".join(PLAIN[c] for c in p.high_risk.escalate)
        lines.append(
            f"When the person has a current high-risk assessment, these need approval whoever asks: {what}; "
            f"the answer is due within {p.high_risk.respond_within_hours} hours."
        )
    if p.overdue is not None:
        lines.append(
            f"An escalation not answered by its due time is marked overdue and re-escalated, once, to a "
            f"{p.overdue.escalate_to.replace('_', ' ')} (idiograph governance escalate-overdue)."
        )
    lines.append(f"Frequency steps, most to least frequent: {', '.join(p.frequency_steps)}.")
    return lines
