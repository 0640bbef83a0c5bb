"""Calibration of a generated service against the national NHS Talking Therapies picture (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from idiograph.monitoring.outcomes.nhs_talking_therapies import EpisodeOutcome, classify, service_rates
from idiograph.patients.demographics import ethnic_group
from idiograph.synth.generator import Generated


@dataclass
class Tally:
    """Running sums over generated people (so that any number of people can be checked in bounded memory)."""

    outcomes: list[EpisodeOutcome] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    sessions_finished: list[int] = field(default_factory=list)
    attended: int = 0
    dna: int = 0
    referrals: int = 0
    intake_phq9: list[int] = field(default_factory=list)
    crises: int = 0
    admissions: int = 0
    relapses: int = 0

    def add(self, g: Generated) -> None:
        person = g.tables["people"][0]
        ep = g.tables["episodes"][0]
        self.referrals += 1
        appts = g.tables.get("appointments", [])
        self.attended += sum(a["status"] == "attended" for a in appts)
        self.dna += sum(a["status"] == "dna" for a in appts)
        by_ref: dict[str, dict[str, int]] = defaultdict(dict)
        order: list[str] = []
        for r in g.tables.get("responses", []):
            if r["appointment_ref"].startswith("follow-up"):
                continue
            if r["appointment_ref"] not in by_ref:
                order.append(r["appointment_ref"])
            by_ref[r["appointment_ref"]][r["instrument"]] = r["total"]
        paired = [(by_ref[a]["phq-9"], by_ref[a]["gad-7"]) for a in order if len(by_ref[a]) == 2]
        if paired:
            self.intake_phq9.append(int(paired[0][0]))
        outcome = classify(paired, ep["attended_treatment"])
        self.outcomes.append(outcome)
        self.groups.append(ethnic_group(person["ethnicity"]))
        if outcome.finished:
            self.sessions_finished.append(ep["attended_treatment"])
        events = g.tables.get("events", [])
        self.crises += sum(e["kind"] == "crisis_presentation" for e in events)
        self.admissions += sum(e["kind"] == "admission" for e in events)
        self.relapses += len(g.tables.get("truth_relapses", []))


@dataclass(frozen=True)
class Figure:
    name: str
    generated: float
    target: tuple[float, float] | None
    detail: str = ""

    @property
    def within(self) -> bool | None:
        return None if self.target is None else self.target[0] <= self.generated <= self.target[1]


def figures(t: Tally, targets: dict[str, tuple[float, float]]) -> list[Figure]:
    rates = service_rates(t.outcomes)
    out = [
        Figure("recovery", rates.recovery.percent or 0.0, targets.get("recovery"), str(rates.recovery)),
        Figure(
            "reliable_improvement",
            rates.reliable_improvement.percent or 0.0,
            targets.get("reliable_improvement"),
            str(rates.reliable_improvement),
        ),
        Figure(
            "reliable_deterioration",
            rates.reliable_deterioration.percent or 0.0,
            targets.get("reliable_deterioration"),
            str(rates.reliable_deterioration),
        ),
        Figure(
            "reliable_recovery",
            rates.reliable_recovery.percent or 0.0,
            targets.get("reliable_recovery"),
            str(rates.reliable_recovery),
        ),
        Figure(
            "mean_sessions_finished",
            sum(t.sessions_finished) / max(1, len(t.sessions_finished)),
            targets.get("mean_sessions_finished"),
            f"{len(t.sessions_finished)} finished",
        ),
        Figure(
            "missed_appointments",
            100.0 * t.dna / max(1, t.attended + t.dna),
            targets.get("missed_appointments"),
            f"{t.dna} DNA / {t.attended + t.dna}",
        ),
        Figure(
            "finished_share_of_referrals",
            100.0 * rates.finished / max(1, t.referrals),
            None,
            f"{rates.finished}/{t.referrals}",
        ),
        Figure("mean_intake_phq9", sum(t.intake_phq9) / max(1, len(t.intake_phq9)), None),
        Figure(
            "crisis_presentations_per_100", 100.0 * t.crises / max(1, t.referrals), None, f"{t.admissions} admissions"
        ),
        Figure("relapses_per_100", 100.0 * t.relapses / max(1, t.referrals), None),
    ]
    for group in sorted(set(t.groups)):
        sub = [o for o, g in zip(t.outcomes, t.groups, strict=True) if g == group]
        r = service_rates(sub).recovery
        if r.denominator >= 30:
            out.append(Figure(f"recovery: {group}", r.percent or 0.0, None, str(r)))
    return out


def equity_direction_holds(t: Tally) -> bool:
    """Recovery for White people is at least that of the minority ethnic groups combined, as nationally."""
    white = [o for o, g in zip(t.outcomes, t.groups, strict=True) if g == "White"]
    minority = [o for o, g in zip(t.outcomes, t.groups, strict=True) if g not in ("White", "Not stated", "Not known")]
    w, m = service_rates(white).recovery.percent, service_rates(minority).recovery.percent
    return w is not None and m is not None and w > m


def tally(people: Iterable[Generated]) -> Tally:
    t = Tally()
    for g in people:
        t.add(g)
    return t
