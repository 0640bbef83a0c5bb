"""NHS Talking Therapies KPIs for a period, from a referral table (pure: no database, no web; mypy --strict).

Sources: NHS England's published metric logic for the Talking Therapies dashboards and Core Data Pack
(github.com/nhsengland/Talking-Therapies: ``Count_Referrals``, ``Count_AccessedTreatment``,
``Count_Finished``, ``Count_NotCaseness``, ``Count_Recovery``, ``Count_FirstTreatment_6Weeks``/``_18Weeks``,
``Count_WaitFirstToSecond_Over90days``), the NHS Talking Therapies Manual, CLINICAL.md sections 2 and 10, and
issue 19. The thresholds of time and contacts are data with a version tag (``kpis.yaml``); caseness and
reliable change come from the instrument files through ``monitoring.outcomes.nhs_talking_therapies`` (one
rule for the record and the report).

The unit is a **referral** (a repeat referral of the same person counts again). Periods are whole days,
``start`` and ``end`` both included.

Input: one :class:`Referral` per referral (the referral table):

==========================  ==========================================================================
``referral_id``             unique
``person_id``               the person (several referrals may share it)
``team_kind``               ``talking_therapies`` (``kpis.yaml``: ``talking_therapies_kinds``) or another
                            kind, reported apart as community
``referral_date``           referral received
``end_date``                the referral ended (discharge), or None while open
``ending_reason``           why it ended (required when ``end_date`` is given)
``assessed_date``           first attended assessment contact, or None
``first_treatment_date``    first attended treatment contact, or None
``second_treatment_date``   second attended treatment contact, or None
``attended_treatment``      attended treatment contacts, in all
``phq9_first``/``_last``    the first PHQ-9 total taken during the referral (on or before its end date), and
                            the last one when at least two were taken (else None); the same for GAD-7
``gad7_first``/``_last``
``ethnicity``, ``sex``,     who the referral is for, for the equity breakdowns (each None when not
``age_at_referral``,        recorded): ethnic category code, sex, whole years on the referral date, IMD
``deprivation_decile``,     decile (1 most deprived), preferred language
``preferred_language``
``appointments``            (day, attendance outcome) of each of the referral's appointments with an outcome
                            (``kpis.yaml``: ``attendance_outcomes``); booked ones are left out
``crisis_presentations``    days of the person's crisis presentations and of their (inpatient) admissions,
``admissions``              each attached to one referral of theirs
``risk_levels``             (day, level) of the person's risk assessments
``crisis_plan_from``        the day the person's first crisis plan was recorded, or None
==========================  ==========================================================================

Output (:func:`compute`), for the referrals given (filter by team kind first, :func:`split`):

- ``referrals``: referrals received in the period (count); ``entered_treatment``: first treatment contact in
  the period (count).
- Outcome metrics take the referrals that **ended** in the period. ``finished_course``: ended with at least 2
  attended treatment contacts (count). A finished course has an outcome when it has paired scores on both
  PHQ-9 and GAD-7 (a first and a later last score of each); only such a course can be in an outcome
  **numerator**. The **denominators** do not drop a course for a missing score (NHS England's Core Data Pack,
  CDP_B05/B06 and CDP_B07: recovery over finished courses less those not at caseness at the start, reliable
  change over all finished courses), so a missing score counts against the rate, as nationally;
  ``finished_with_paired_scores`` (supplementary) shows how complete the pairs are.
- **Not at caseness at the start** (:func:`not_at_caseness`) is known only from both first scores: a PHQ-9 and
  a GAD-7 first score, each below caseness (PHQ-9 < 10 and GAD-7 < 8). A finished course with no first score,
  or a first score on one measure only (whatever its value), is not known to be below caseness and stays in
  the recovery denominator (the national ``NotCaseness`` flag needs both first scores below their thresholds).
- ``recovery``: paired scores, at caseness at the start (PHQ-9 >= 10 and/or GAD-7 >= 8) and below caseness
  on both at the end, over finished courses less those not at caseness at the start;
  ``reliable_recovery``: recovered and reliably improved, same denominator; ``reliable_improvement``: paired
  scores with a reliable decrease (PHQ-9 >= 6, GAD-7 >= 4 points) on at least one measure and no reliable
  increase on either, over **all** finished courses; ``reliable_deterioration``: paired scores with a reliable
  increase on either, same denominator.
- ``waited_6_weeks`` / ``waited_18_weeks``: referral to first treatment <= 42 / <= 126 days, among finished
  courses.
- ``first_to_second_over_90_days``: second treatment contact in the period more than 90 days after the first,
  over referrals whose second treatment contact falls in the period.
- The attrition funnel over the referrals that ended in the period: referred -> assessed -> entered
  treatment -> second session -> finished -> recovered, each stage with how many reached it and the ending
  reasons of those who stopped there; the stops and the recovered sum to the referrals that ended. A stage
  is reached only with every stage before it (entering treatment counts as assessed: an assessment and
  a first treatment can be the same contact).

Attendance and community measures (:func:`measures`, in ``Report.measures``; the same definitions for every
team kind, so ``community`` has them too):

- ``dna_rate``: appointments dated in the period with outcome did not attend, over all appointments dated in
  the period with an attendance outcome (attended, did not attend, cancelled by the person or by the service).
- ``disengagement_discharges``: referrals that ended in the period whose ending reason is, as a national NHS
  Talking Therapies ending reason (:func:`national_ending`), one meaning the person dropped out (count).
- ``crisis_admissions``: admissions dated in the period (count). Admissions are only what the data hold: the
  application records none itself (they come by import or from a synthetic folder).

Supplementary crisis care (``Report.crisis``): ``crisis_presentations`` (count in the period);
``re_referral_within_30_days`` (referrals received in the period at most 30 days after the same person's
previous referral ended, over referrals received in the period: a readmission to the service, not an inpatient
readmission, for which discharge from hospital is not recorded); ``crisis_plan_coverage_high_risk`` (people with
a referral open in the period whose latest risk assessment by the period's end is high, and of them those with
a crisis plan recorded by then).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from idiograph.errors import FieldProblem, InvalidInput
from idiograph.monitoring.outcomes.nhs_talking_therapies import EpisodeOutcome, at_caseness, classify

DEFINITIONS = Path(__file__).with_name("kpis.yaml")
COUNTS = ("referrals", "entered_treatment", "finished_course")
RATES = (
    "recovery",
    "reliable_recovery",
    "reliable_improvement",
    "reliable_deterioration",
    "waited_6_weeks",
    "waited_18_weeks",
)
KPIS = COUNTS + RATES  # the NHS Talking Therapies KPIs, in the issue's order
MEASURES = ("dna_rate", "disengagement_discharges", "crisis_admissions")  # attendance and community measures
ISSUE_KPIS = KPIS + MEASURES  # every name of the issue's "kpis" object, in order
SUPPLEMENTARY = ("first_to_second_over_90_days", "finished_with_paired_scores")
CRISIS = ("crisis_presentations", "re_referral_within_30_days", "crisis_plan_coverage_high_risk")
STAGES = ("referred", "assessed", "entered_treatment", "second_session", "finished_course", "recovered")


class EndingCodes(BaseModel):
    """One service ending reason as a national NHS Talking Therapies ending reason (ENDCODE), by how far the
    referral went."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    before_treatment: str = Field(min_length=1)  # no attended treatment contact
    in_treatment: str = Field(min_length=1)  # at least one


class Definitions(BaseModel):
    """``kpis.yaml``: the versioned thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(min_length=1)
    talking_therapies_kinds: tuple[str, ...] = Field(min_length=1)
    finished_min_attended: int = Field(ge=2)  # the funnel's second session comes before finishing
    waited_6_weeks_days: int = Field(ge=0)
    waited_18_weeks_days: int = Field(ge=0)
    first_to_second_over_days: int = Field(ge=0)
    attendance_outcomes: tuple[str, ...] = Field(min_length=1)
    did_not_attend: str = Field(min_length=1)
    ending_reasons: dict[str, EndingCodes]
    national_ending_reasons: dict[str, str]
    disengagement_codes: tuple[str, ...]
    admission_encounter_classes: tuple[str, ...]
    crisis_encounter_classes: tuple[str, ...]
    re_referral_days: int = Field(ge=0)
    high_risk_levels: tuple[str, ...] = Field(min_length=1)
    team_kinds: dict[str, str]

    @model_validator(mode="after")
    def _known_codes(self) -> Definitions:
        if self.did_not_attend not in self.attendance_outcomes:
            raise ValueError(f"did_not_attend: {self.did_not_attend!r} is not among attendance_outcomes")
        named = set(self.national_ending_reasons)
        for reason, codes in self.ending_reasons.items():
            for code in (codes.before_treatment, codes.in_treatment):
                if code not in named:
                    raise ValueError(f"ending_reasons: {reason}: code {code!r} is not in national_ending_reasons")
        for code in self.disengagement_codes:
            if code not in named:
                raise ValueError(f"disengagement_codes: {code!r} is not in national_ending_reasons")
        return self


@lru_cache(maxsize=4)
def definitions(path: Path = DEFINITIONS) -> Definitions:
    return Definitions.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Referral:
    referral_id: str
    person_id: str
    team_kind: str
    referral_date: date
    end_date: date | None
    ending_reason: str | None
    assessed_date: date | None
    first_treatment_date: date | None
    second_treatment_date: date | None
    attended_treatment: int
    phq9_first: float | None
    phq9_last: float | None
    gad7_first: float | None
    gad7_last: float | None
    # who the referral is for, for the equity breakdowns (issue 19); None when not recorded
    ethnicity: str | None = None  # NHS Data Dictionary ethnic category code (A..S, Z, 99)
    age_at_referral: int | None = None  # whole years on the referral date
    sex: str | None = None  # female | male | other | unknown
    deprivation_decile: int | None = None  # IMD decile, 1 most deprived
    preferred_language: str | None = None  # BCP 47 tag
    # attendance and crisis care (issue 19's community measures); empty when not recorded
    appointments: tuple[tuple[date, str], ...] = ()  # (day, attendance outcome), booked ones left out
    crisis_presentations: tuple[date, ...] = ()
    admissions: tuple[date, ...] = ()  # inpatient admissions
    risk_levels: tuple[tuple[date, str], ...] = ()  # (day, level) of the person's risk assessments
    crisis_plan_from: date | None = None  # the person's first crisis plan


@dataclass(frozen=True)
class Kpi:
    numerator: int
    denominator: int | None  # None for a count

    @property
    def rate(self) -> float | None:
        """Percent to one decimal place (half up), None for a count or an empty denominator."""
        if not self.denominator:
            return None
        exact = Decimal(100 * self.numerator) / Decimal(self.denominator)
        return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Stage:
    name: str
    reached: int
    stopped: dict[str, int]  # ending reason -> referrals that reached this stage and no further


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    version: str
    kpis: dict[str, Kpi]
    supplementary: dict[str, Kpi]
    funnel: tuple[Stage, ...]
    ended: int
    measures: dict[str, Kpi] = field(default_factory=dict)  # MEASURES
    crisis: dict[str, Kpi] = field(default_factory=dict)  # CRISIS


def problems(referrals: Sequence[Referral], defs: Definitions | None = None) -> list[FieldProblem]:
    """What makes a referral table unusable (each named by row and column); empty when it is fine."""
    outcomes = set((defs or definitions()).attendance_outcomes)
    out: list[FieldProblem] = []
    seen: set[str] = set()
    for i, r in enumerate(referrals):
        where = f"row {i + 1} ({r.referral_id})"

        def bad(column: str, reason: str, where: str = where) -> None:
            out.append(FieldProblem(f"{where}: {column}", reason))

        if r.referral_id in seen:
            bad("referral_id", "appears twice (one row per referral)")
        seen.add(r.referral_id)
        if r.attended_treatment < 0:
            bad("attended_treatment", "is negative")
        if r.end_date is not None and r.end_date < r.referral_date:
            bad("end_date", "is before the referral date")
        if r.end_date is not None and not r.ending_reason:
            bad("ending_reason", "is missing for an ended referral")
        for column, when in (
            ("assessed_date", r.assessed_date),
            ("first_treatment_date", r.first_treatment_date),
            ("second_treatment_date", r.second_treatment_date),
        ):
            if when is not None and when < r.referral_date:
                bad(column, "is before the referral date")
            if when is not None and r.end_date is not None and when > r.end_date:
                bad(column, "is after the end date")
        if (r.first_treatment_date is None) != (r.attended_treatment < 1):
            bad("first_treatment_date", "must be given exactly when attended_treatment is at least 1")
        if (r.second_treatment_date is None) != (r.attended_treatment < 2):
            bad("second_treatment_date", "must be given exactly when attended_treatment is at least 2")
        first, second = r.first_treatment_date, r.second_treatment_date
        if first is not None and second is not None and second < first:
            bad("second_treatment_date", "is before the first treatment date")
        for measure, start, last in (("phq9", r.phq9_first, r.phq9_last), ("gad7", r.gad7_first, r.gad7_last)):
            if last is not None and start is None:
                bad(f"{measure}_last", f"is given without {measure}_first")
        for _, status in r.appointments:
            if status not in outcomes:
                bad("appointments", f"{status!r} is not an attendance outcome ({', '.join(sorted(outcomes))})")
                break
    return out


def split(referrals: Iterable[Referral], defs: Definitions | None = None) -> tuple[list[Referral], list[Referral]]:
    """(talking-therapies teams' referrals, community teams' referrals): each team kind is reported apart."""
    kinds = set((defs or definitions()).talking_therapies_kinds)
    talking: list[Referral] = []
    community: list[Referral] = []
    for r in referrals:
        (talking if r.team_kind in kinds else community).append(r)
    return talking, community


def outcome(r: Referral, defs: Definitions | None = None) -> EpisodeOutcome:
    """The national outcome of one referral, from its first and last PHQ-9 and GAD-7 (no pair, no outcome)."""
    d = defs or definitions()
    finished = r.attended_treatment >= d.finished_min_attended
    scores = (r.phq9_first, r.gad7_first, r.phq9_last, r.gad7_last)
    if any(s is None for s in scores):
        return replace(classify([], r.attended_treatment), finished=finished)
    p0, g0, p1, g1 = (float(s) for s in scores if s is not None)
    return replace(classify([(p0, g0), (p1, g1)], r.attended_treatment), finished=finished)


def not_at_caseness(r: Referral) -> bool:
    """Known to be below caseness at the start: a first PHQ-9 and a first GAD-7, each below its caseness
    threshold. No first score, or one measure's only, is not known and counts as possibly at caseness (NHS
    England's ``NotCaseness``: a finished course leaves the recovery denominator only when known not at
    caseness)."""
    p0, g0 = r.phq9_first, r.gad7_first
    return p0 is not None and g0 is not None and not at_caseness(p0, g0)


def _within(day: date | None, start: date, end: date) -> bool:
    return day is not None and start <= day <= end


def compute(referrals: Sequence[Referral], start: date, end: date, defs: Definitions | None = None) -> Report:
    """The KPIs, supplementary rates and funnel of ``referrals`` for the period ``start``..``end``."""
    d = defs or definitions()
    if end < start:
        raise InvalidInput("the period ends before it starts", [FieldProblem("to", f"{end} is before {start}")])
    found = problems(referrals, d)
    if found:
        raise InvalidInput(f"{len(found)} problem(s) in the referral table", found)
    ended = [r for r in referrals if _within(r.end_date, start, end)]
    finished = [r for r in ended if r.attended_treatment >= d.finished_min_attended]
    outcomes = [outcome(r, d) for r in finished]
    paired = [o for o in outcomes if o.paired_scores > 0]
    # recovery's denominator: finished less those known not at caseness at the start (CDP_B05/B06); a course
    # without paired scores stays in it and cannot be in the numerator (a missing score counts against the rate)
    case = len([r for r in finished if not not_at_caseness(r)])

    def waited(days: int) -> Kpi:
        within = sum(
            1
            for r in finished
            if r.first_treatment_date is not None and (r.first_treatment_date - r.referral_date).days <= days
        )
        return Kpi(within, len(finished))

    second = [
        r for r in referrals if r.first_treatment_date is not None and _within(r.second_treatment_date, start, end)
    ]
    over = sum(
        1
        for r in second
        if r.second_treatment_date is not None
        and r.first_treatment_date is not None
        and (r.second_treatment_date - r.first_treatment_date).days > d.first_to_second_over_days
    )
    kpis = {
        "referrals": Kpi(sum(_within(r.referral_date, start, end) for r in referrals), None),
        "entered_treatment": Kpi(sum(_within(r.first_treatment_date, start, end) for r in referrals), None),
        "finished_course": Kpi(len(finished), None),
        "recovery": Kpi(sum(bool(o.recovered) for o in paired), case),
        "reliable_recovery": Kpi(sum(bool(o.reliable_recovery) for o in paired), case),
        "reliable_improvement": Kpi(sum(bool(o.reliable_improvement) for o in paired), len(finished)),
        "reliable_deterioration": Kpi(sum(bool(o.reliable_deterioration) for o in paired), len(finished)),
        "waited_6_weeks": waited(d.waited_6_weeks_days),
        "waited_18_weeks": waited(d.waited_18_weeks_days),
    }
    supplementary = {
        "first_to_second_over_90_days": Kpi(over, len(second)),
        "finished_with_paired_scores": Kpi(len(paired), len(finished)),
    }
    return Report(
        start,
        end,
        d.version,
        kpis,
        supplementary,
        funnel(ended, d),
        len(ended),
        measures(referrals, start, end, d),
        crisis_care(referrals, start, end, d),
    )


def national_ending(r: Referral, defs: Definitions | None = None) -> str | None:
    """The NHS Talking Therapies ending reason code (ENDCODE) of an ended referral: its own reason, before or after
    the first attended treatment contact (``kpis.yaml``: ``ending_reasons``); None when unmapped or open."""
    d = defs or definitions()
    codes = d.ending_reasons.get(r.ending_reason or "")
    if r.end_date is None or codes is None:
        return None
    return codes.in_treatment if r.attended_treatment >= 1 else codes.before_treatment


def measures(referrals: Sequence[Referral], start: date, end: date, defs: Definitions | None = None) -> dict[str, Kpi]:
    """``dna_rate``, ``disengagement_discharges`` and ``crisis_admissions`` for the period (``MEASURES``)."""
    d = defs or definitions()
    outcomes = set(d.attendance_outcomes)
    booked = [s for r in referrals for day, s in r.appointments if s in outcomes and _within(day, start, end)]
    disengaged = set(d.disengagement_codes)
    return {
        "dna_rate": Kpi(sum(s == d.did_not_attend for s in booked), len(booked)),
        "disengagement_discharges": Kpi(
            sum(1 for r in referrals if _within(r.end_date, start, end) and national_ending(r, d) in disengaged), None
        ),
        "crisis_admissions": Kpi(sum(_within(a, start, end) for r in referrals for a in r.admissions), None),
    }


def crisis_care(
    referrals: Sequence[Referral], start: date, end: date, defs: Definitions | None = None
) -> dict[str, Kpi]:
    """Crisis presentations, re-referral within 30 days and crisis-plan coverage of people at high risk (``CRISIS``)."""
    d = defs or definitions()
    ended_by_person: dict[str, list[tuple[str, date]]] = {}
    for r in referrals:
        if r.end_date is not None:
            ended_by_person.setdefault(r.person_id, []).append((r.referral_id, r.end_date))
    received = [r for r in referrals if _within(r.referral_date, start, end)]
    again = sum(
        1
        for r in received
        if any(
            other != r.referral_id and 0 <= (r.referral_date - e).days <= d.re_referral_days
            for other, e in ended_by_person.get(r.person_id, ())
        )
    )
    risk: dict[str, tuple[date, str] | None] = {}
    planned: dict[str, date | None] = {}
    for r in referrals:
        if r.referral_date > end or (r.end_date is not None and r.end_date < start):
            continue  # not open in the period
        latest = max((x for x in r.risk_levels if x[0] <= end), default=None, key=lambda x: x[0])
        held = risk.get(r.person_id)
        if held is None or (latest is not None and latest[0] > held[0]):
            risk[r.person_id] = latest
        if r.crisis_plan_from is not None:
            known = planned.get(r.person_id)
            planned[r.person_id] = r.crisis_plan_from if known is None else min(known, r.crisis_plan_from)
    high = [p for p, x in risk.items() if x is not None and x[1] in d.high_risk_levels]
    covered = sum(1 for p in high if (planned.get(p) or date.max) <= end)
    return {
        "crisis_presentations": Kpi(
            sum(_within(c, start, end) for r in referrals for c in r.crisis_presentations), None
        ),
        "re_referral_within_30_days": Kpi(again, len(received)),
        "crisis_plan_coverage_high_risk": Kpi(covered, len(high)),
    }


def stage_reached(r: Referral, defs: Definitions | None = None) -> int:
    """The index in ``STAGES`` of the last stage an ended referral reached (every earlier one included)."""
    d = defs or definitions()
    steps = (
        r.assessed_date is not None or r.first_treatment_date is not None,
        r.first_treatment_date is not None,
        r.second_treatment_date is not None,
        r.attended_treatment >= d.finished_min_attended,
        bool(outcome(r, d).recovered),
    )
    reached = 0
    for ok in steps:
        if not ok:
            break
        reached += 1
    return reached


def funnel(ended: Sequence[Referral], defs: Definitions | None = None) -> tuple[Stage, ...]:
    """Referred -> ... -> recovered over referrals that ended, with the ending reasons of those stopping at each
    stage (the last stage's "stopped" are the recovered, so every stage's stops sum to ``len(ended)``)."""
    last = [(stage_reached(r, defs), r.ending_reason or "not recorded") for r in ended]
    return tuple(
        Stage(
            name,
            sum(1 for k, _ in last if k >= i),
            dict(sorted(Counter(reason for k, reason in last if k == i).items())),
        )
        for i, name in enumerate(STAGES)
    )
