"""A synthetic mental-health service with known ground truth (pure: parameters and a seed in, rows out).

Each person has an independent random stream (seed, person index), so any person can be generated alone,
in any order and in any chunk size, with the same result. Latent severity lives on the scale of the
PHQ-9 item bank fitted to NHANES; observed answers are drawn from that graded response model.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from idiograph.adaptive import itembank
from idiograph.adaptive.grm import ItemParams, sample
from idiograph.instruments.definitions import instruments
from idiograph.patients.demographics import ethnic_group
from idiograph.patients.nhs_number import check_digit
from idiograph.synth.params import Params

NAMESPACE = uuid.UUID("6b1d9a3e-8c1f-4d3b-9a52-3f7e0c2d9b11")
LOINC = "http://loinc.org"
GIVEN_F = (
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Priya",
    "Aisha",
    "Fatima",
    "Grace",
    "Sophie",
    "Emily",
    "Zara",
    "Ewa",
    "Chloe",
    "Ruth",
    "Maya",
    "Amina",
    "Hannah",
    "Lucy",
    "Mei",
    "Niamh",
)
GIVEN_M = (
    "Oliver",
    "George",
    "Noah",
    "Jack",
    "Mohammed",
    "Harry",
    "Leo",
    "Kwame",
    "Arjun",
    "Tom",
    "Liam",
    "Hassan",
    "Daniel",
    "Sam",
    "Piotr",
    "Adam",
    "Joseph",
    "Ryan",
    "Chen",
    "Tariq",
)
FAMILY = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Khan",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "Ali",
    "Hughes",
    "Green",
    "Nowak",
    "Okoye",
    "Begum",
    "Hussain",
    "Clarke",
    "Edwards",
    "Singh",
    "Murphy",
    "Campbell",
    "Mensah",
    "Kowalski",
    "Shah",
)
TALKING = ("guided_self_help", "cbt", "counselling", "group_cbt", "creative_therapies")
CMHT = ("medication_review", "cbt", "creative_therapies")
WHITE_OR_UNKNOWN = ("White", "Not stated", "Not known")


def uid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


@lru_cache(maxsize=1)
def item_banks() -> tuple[list[ItemParams], list[ItemParams]]:
    """PHQ-9 items fitted to NHANES; GAD-7 items matched to the first seven PHQ-9 items (no open GAD-7
    item data is available), driven by a separate, correlated anxiety trait."""
    phq = itembank.load(Path(__file__).with_name("data") / "phq9_grm.yaml").items
    return phq, phq[:7]


@dataclass
class Clinician:
    id: str
    team_id: str
    name: str
    role: str
    capacity: int
    languages: list[str]
    modalities: list[str]
    formats: list[str]
    strengths: dict[str, float]


@dataclass
class Service:
    teams: list[dict[str, Any]]
    clinicians: list[Clinician]


@lru_cache(maxsize=256)
def _table(items: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    keys = [k for k, _ in items]
    cum = np.cumsum([w for _, w in items]).tolist()
    return keys, cum


def _pick(rng: np.random.Generator, shares: dict[str, float]) -> str:
    """One key drawn with probability proportional to its share."""
    keys, cum = _table(tuple(shares.items()))
    return keys[min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(keys) - 1)]


def generate_service(params: Params, people: int, seed: int) -> Service:
    """Teams and staff, sized to the number of people, with true strengths by problem domain."""
    rng = np.random.default_rng([seed, 0])
    teams, clinicians = [], []
    domains = sorted({p.domain for p in params.problems.values()})
    for t in params.service.teams:
        tid = uid(seed, "team", t.name)
        teams.append({"team_id": tid, "name": t.name, "kind": t.kind})
        share = t.share / sum(x.share for x in params.service.teams)
        n_clin = max(2, int(np.ceil(people * share / params.service.people_per_clinician)))
        options = list(CMHT if t.kind == "cmht" else TALKING)
        for k in range(n_clin + params.service.coordinators_per_team):
            role = "clinician" if k < n_clin else "care_coordinator"
            langs = ["en", *[lang for lang, s in params.service.languages.items() if lang != "en" and rng.random() < s]]
            mods = sorted(set(rng.choice(options, size=min(3, len(options)), replace=False).tolist()))
            formats = ["in_person", *[f for f in ("video", "phone") if rng.random() < 0.8]]
            strengths = {d: float(rng.normal(0, params.service.strength_sd)) for d in domains}
            clinicians.append(
                Clinician(
                    uid(seed, "clinician", t.name, k),
                    tid,
                    f"{GIVEN_F[k % 20] if k % 2 else GIVEN_M[k % 20]} {FAMILY[(k * 7) % 30]}",
                    role,
                    int(rng.integers(18, 31)),
                    langs,
                    mods,
                    formats,
                    strengths,
                )
            )
    return Service(teams, clinicians)


@dataclass
class Generated:
    """Rows for one person, by table; ground truth kept apart in the ``truth_*`` tables."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    observations: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(row)


OBS_COLUMNS = ("person_id", "episode_id", "response_id", "system", "code", "value", "unit", "time", "kind")


def _obs(
    g: Generated,
    person: str,
    episode: str | None,
    response: str | list[str] | None,
    code: str | list[str],
    values: Any,
    unit: str,
    times: Any,
    kind: str | list[str],
) -> None:
    """Append observations; scalars are repeated, lists must match the values' length."""
    vals = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    n = len(vals)
    ts = np.broadcast_to(np.asarray(times, dtype="datetime64[us]"), (n,)) if np.ndim(times) == 0 else times
    o = g.observations
    if not o:
        for col in OBS_COLUMNS:
            o[col] = []
    o["person_id"] += [person] * n
    o["episode_id"] += [episode] * n
    o["response_id"] += response if isinstance(response, list) else [response] * n
    o["system"] += [LOINC] * n
    o["code"] += code if isinstance(code, list) else [code] * n
    o["value"].append(vals)
    o["unit"] += [unit] * n
    o["time"].append(np.asarray(ts, dtype="datetime64[us]").ravel())
    o["kind"] += kind if isinstance(kind, list) else [kind] * n


def _dt64(t: datetime) -> np.datetime64:
    return np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "us")


def nhs_number_for(seed: int, index: int) -> str | None:
    """A unique NHS number in the 999 range NHS England reserves for test data: index -> number is a
    bijection (multiplier coprime to 10^6); None where the check digit would be invalid, or beyond the
    range, as for people whose number is not recorded."""
    if index >= 10**6:
        return None
    nine = f"999{(7919 * index + 104729 * seed) % 10**6:06d}"
    digit = check_digit(nine)
    return None if digit is None else nine + str(digit)


def true_effects(
    params: Params,
    theta0: float,
    chronic: int,
    age: int,
    prior: int,
    minority: bool,
    decile: int,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Each option's true latent improvement for this person (before any therapist effect)."""
    sd = params.individual_effect_sd
    shared = rng.normal(0, sd * 0.6)
    equity = params.equity.minority_effect * minority + params.equity.deprivation_effect * (10 - decile)
    out = {}
    for name, iv in params.interventions.items():
        out[name] = float(
            iv.effect
            + iv.severity * (theta0 - params.severity.intake_mean)
            + iv.chronic * chronic
            + iv.age * (age - 40) / 20
            + iv.prior * prior
            + shared
            + rng.normal(0, sd * 0.8)
            + equity
        )
    return out


def _assign(rng: np.random.Generator, kind: str, theta0: float, mean: float) -> str:
    """Observational (stepped-care) allocation, confounded by severity as in real services."""
    if kind == "cmht":
        return _pick(rng, {"medication_review": 0.5, "cbt": 0.3, "creative_therapies": 0.2})
    if theta0 < mean:
        return _pick(rng, {"guided_self_help": 0.6, "group_cbt": 0.15, "counselling": 0.1, "cbt": 0.15})
    return _pick(rng, {"cbt": 0.55, "counselling": 0.25, "group_cbt": 0.1, "creative_therapies": 0.1})


def generate_person(params: Params, service: Service, seed: int, index: int) -> Generated:
    rng = np.random.default_rng([seed, 1, index])
    g = Generated()
    pid = uid(seed, "person", index)
    phq_items, gad_items = item_banks()
    phq_codes = [i.code for i in instruments()["phq-9"].items]
    gad_codes = [i.code for i in instruments()["gad-7"].items]
    d = params.demographics

    # -- who they are -------------------------------------------------------------------------------
    referral = params.window.start + timedelta(days=int(rng.integers(0, params.window.days)))
    age = int(np.clip(rng.gamma(d.age.shape, d.age.scale), d.age.min, d.age.max))
    birth = referral - timedelta(days=int(age * 365.25) + int(rng.integers(0, 365)))
    sex = "female" if rng.random() < d.female else "male"
    ethnicity = _pick(rng, d.ethnicity)
    w = np.asarray(d.deprivation_weights)
    decile = int(rng.choice(10, p=w / w.sum())) + 1
    non_english = rng.random() < d.non_english_preferred
    language = _pick(rng, {k: v for k, v in params.service.languages.items() if k != "en"}) if non_english else "en"
    given = (GIVEN_F if sex == "female" else GIVEN_M)[int(rng.integers(20))]
    team_spec = params.service.teams[
        int(
            rng.choice(
                len(params.service.teams),
                p=np.array([t.share for t in params.service.teams]) / sum(t.share for t in params.service.teams),
            )
        )
    ]
    team = next(t for t in service.teams if t["name"] == team_spec.name)
    staff = [c for c in service.clinicians if c.team_id == team["team_id"] and c.role == "clinician"]
    speakers = [c for c in staff if language in c.languages]
    clinician = (speakers or staff)[int(rng.integers(len(speakers or staff)))]
    pref_format = _pick(rng, {"in_person": 0.45, "video": 0.3, "phone": 0.25})
    pref_place = _pick(rng, {"clinic": 0.5, "home": 0.15, "community": 0.15, "remote": 0.2})
    pref_time = _pick(rng, {"morning": 0.35, "afternoon": 0.35, "evening": 0.3})
    g.add(
        "people",
        {
            "person_id": pid,
            "given_name": given,
            "family_name": FAMILY[int(rng.integers(30))],
            "birth_date": birth,
            "sex": sex,
            "ethnicity": ethnicity,
            "deprivation_decile": decile,
            "preferred_language": language,
            "nhs_number": nhs_number_for(seed, index),
            "team_id": team["team_id"],
            "preferred_format": pref_format,
            "preferred_place": pref_place,
            "preferred_time": pref_time,
        },
    )

    # -- their illness and what would help ------------------------------------------------------------
    problem_name = _pick(rng, {k: v.share for k, v in params.problems.items()})
    problem = params.problems[problem_name]
    s = params.severity
    z = rng.normal(0, 1, 2)
    theta_d0 = s.intake_mean + problem.dep + s.intake_sd * z[0]
    theta_a0 = (
        s.intake_mean
        + s.anxiety_offset
        + problem.anx
        + s.intake_sd * (s.anxiety_correlation * z[0] + np.sqrt(1 - s.anxiety_correlation**2) * z[1])
    )
    chronic = int(rng.random() < s.chronic_share)
    prior = int(rng.random() < 0.3)
    risk = float(rng.normal(0, s.risk_trait_sd))
    minority = ethnic_group(ethnicity) not in WHITE_OR_UNKNOWN
    # crises have their own random stream, so that triggers leave every other draw as it was
    crisis_rng = np.random.default_rng([seed, 2, index])
    triggers = sorted(t for t, share in params.crisis.triggers.items() if crisis_rng.random() < share)
    trigger_events: list[tuple[datetime, str]] = []
    origin = datetime.combine(referral, datetime.min.time(), UTC)
    for t in triggers:
        n = int(crisis_rng.poisson(params.crisis.trigger_events_per_year * 3))
        trigger_events += [(origin + timedelta(days=int(d)), t) for d in crisis_rng.integers(0, 3 * 365, n)]
    trigger_events.sort()
    effects = true_effects(params, theta_d0, chronic, age, prior, minority, decile, rng)
    options = CMHT if team["kind"] == "cmht" else TALKING
    best = max(options, key=lambda k: effects[k])
    intervention = _assign(rng, team["kind"], theta_d0, s.intake_mean)
    iv = params.interventions[intervention]
    effect = effects[intervention] + clinician.strengths[problem.domain]
    g.add(
        "truth_people",
        {
            "person_id": pid,
            "risk_trait": risk,
            "chronic": chronic,
            "prior_response": prior,
            "intake_latent_depression": theta_d0,
            "intake_latent_anxiety": theta_a0,
            "best_option": best,
            "received": intervention,
            "therapist_effect": clinician.strengths[problem.domain],
            "triggers": ";".join(triggers),
            **{f"effect_{k}": v for k, v in effects.items() if k in options},
        },
    )

    # -- the episode: assessment, weekly sessions, discharge -------------------------------------------
    eid = uid(seed, "episode", index)
    att = params.attendance
    start = datetime.combine(referral, datetime.min.time(), UTC)
    when = start + timedelta(days=int(rng.gamma(3.0, 7.0)) + 1)
    noise = 0.0
    attended_treatment = dnas = cancels = consecutive_missed = 0
    responses: list[tuple[datetime, float, float, str]] = []
    appointments = []
    discharge_reason = None
    week = 0
    recovered_run = 0
    end_week = iv.sessions
    crisis_weeks: list[tuple[datetime, str | None]] = []
    while True:
        kind = "assessment" if week == 0 else "treatment"
        hour = params.slots.hours[int(rng.integers(len(params.slots.hours)))]
        place = _pick(rng, params.slots.places)
        fmt = "remote" if place == "remote" else "in_person"
        fmt = _pick(rng, params.slots.formats) if place == "remote" else fmt
        slot_time = "morning" if hour < 12 else ("afternoon" if hour < 17 else "evening")
        fit = ((fmt == pref_format) + (place == pref_place) + (slot_time == pref_time)) / 3
        slot = when.replace(hour=hour) + timedelta(minutes=30 * int(rng.integers(2)))
        weeks_in = max(0, week - 1)
        noise = s.noise_ar * noise + rng.normal(0, s.noise_sd)
        treated = effect * (1 - np.exp(-weeks_in / s.response_tau_weeks)) if week > 1 else 0.0
        theta_d = theta_d0 - treated + noise
        theta_a = theta_a0 - treated * 0.95 + noise * 0.8
        logit = att.base + att.fit * (fit - 0.5) - att.deprivation * (10 - decile) - 0.25 * max(theta_d - 1.5, 0)
        u = rng.random()
        if u < att.service_cancel:
            status = "cancelled_service"
        elif rng.random() < 1 / (1 + np.exp(-logit)):
            status = "attended"
        else:
            status = "cancelled_person" if rng.random() < att.cancel_share else "dna"
        aid = uid(seed, "appointment", index, len(appointments))
        appointments.append(
            {
                "appointment_id": aid,
                "person_id": pid,
                "episode_id": eid,
                "clinician_id": clinician.id,
                "start": slot,
                "kind": kind,
                "place": place,
                "format": fmt,
                "group": iv.group and kind == "treatment",
                "fit": round(fit, 3),
                "status": status,
            }
        )
        if status == "attended":
            consecutive_missed = 0
            responses.append((slot, theta_d, theta_a, aid))
            if kind == "treatment":
                attended_treatment += 1
        elif status != "cancelled_service":
            consecutive_missed += 1
            dnas += status == "dna"
            cancels += status == "cancelled_person"
        active = next((name for t, name in trigger_events if abs((slot - t).days) <= 7), None)
        crisis_p = np.exp(params.crisis.base + params.crisis.severity * theta_d + params.crisis.risk * risk)
        if rng.random() < crisis_p * (params.crisis.trigger_multiplier if active else 1.0):
            crisis_weeks.append((slot + timedelta(days=int(crisis_rng.integers(1, 6))), active))
        # leaving: planned end, early recovery, disengagement
        if status == "attended" and kind == "treatment":
            well = expected_below_caseness(theta_d, theta_a)
            recovered_run = recovered_run + 1 if well else 0
            course_done = attended_treatment >= end_week
            recovered_early = attended_treatment >= 4 and recovered_run >= 2 and rng.random() < att.early_discharge
            if course_done or recovered_early:
                discharge_reason = "completed"
        if discharge_reason is None and week > 0:
            after_misses = consecutive_missed >= 2 and rng.random() < att.disengage_after_dna
            dropout = att.weekly_dropout * (1.5 if theta_d > theta_d0 else 1.0)
            if after_misses or rng.random() < dropout:
                discharge_reason = "disengaged"
        if discharge_reason is None and week == 0:
            if status == "attended" and rng.random() < att.leave_after_assessment:
                discharge_reason = _pick(rng, {"not_suitable": 0.4, "declined": 0.35, "transferred": 0.25})
            elif status != "attended" and consecutive_missed >= 2:
                discharge_reason = "declined"
        if discharge_reason is not None or week > 3 * iv.sessions + 6:
            discharge_reason = discharge_reason or "completed"
            break
        week += 1
        when = when + timedelta(days=7 if week > 1 else int(rng.integers(10, 29)))
    discharge = (appointments[-1]["start"] + timedelta(days=7)).date()
    g.tables["appointments"] = appointments
    g.add(
        "episodes",
        {
            "episode_id": eid,
            "person_id": pid,
            "team_id": team["team_id"],
            "clinician_id": clinician.id,
            "referral_date": referral,
            "referral_source": _pick(rng, params.referral_sources),
            "presenting_problem": problem_name,
            "pathway": intervention,
            "group": iv.group,
            "discharge_date": discharge,
            "discharge_reason": discharge_reason,
            "attended_treatment": attended_treatment,
            "dna": dnas,
            "cancelled_by_person": cancels,
        },
    )

    # -- questionnaire answers at every attended contact -------------------------------------------------
    horizon = datetime.combine(discharge, datetime.min.time(), UTC) + timedelta(days=params.window.follow_up_days)
    final_d = responses[-1][1] if responses else theta_d0
    final_a = responses[-1][2] if responses else theta_a0
    follow: list[tuple[datetime, float, float, str]] = []
    relapse_at: datetime | None = None
    if rng.random() < params.relapse.follow_up_share:
        t = datetime.combine(discharge, datetime.min.time(), UTC) + timedelta(days=30, hours=10)
        base_noise = 0.0
        well = expected_below_caseness(final_d, final_a)
        k = 0
        while t < horizon:
            if relapse_at is None and well and rng.random() < params.relapse.monthly_hazard:
                relapse_at = t - timedelta(days=int(rng.integers(0, 30)))
            rise = 0.0
            if relapse_at is not None:
                rise = params.relapse.rise * min(1.0, (t - relapse_at).days / 28)
            base_noise = s.noise_ar * base_noise + rng.normal(0, s.noise_sd)
            follow.append((t, final_d + rise + base_noise, final_a + 0.8 * rise + base_noise, f"follow-up-{k}"))
            t += timedelta(days=30)
            k += 1
    if relapse_at is not None:
        g.add("truth_relapses", {"person_id": pid, "episode_id": eid, "onset": relapse_at})
    everything = responses + follow
    if everything:
        th_d = np.array([r[1] for r in everything])
        th_a = np.array([r[2] for r in everything])
        phq = sample(phq_items[:8], th_d, rng)
        item9 = sample(phq_items[8:], th_d + risk, rng)
        gad = sample(gad_items, th_a, rng)
        times = np.array([_dt64(r[0]) for r in everything])
        for inst, codes, answers, total_code in (
            ("phq-9", phq_codes, np.hstack([phq, item9]), "44261-6"),
            ("gad-7", gad_codes, gad, "70274-6"),
        ):
            rids = [uid(seed, "response", index, inst, r[3]) for r in everything]
            totals = answers.sum(axis=1)
            for k, (t, _, _, ref) in enumerate(everything):
                g.add(
                    "responses",
                    {
                        "response_id": rids[k],
                        "person_id": pid,
                        "episode_id": eid,
                        "instrument": inst,
                        "authored": t,
                        "total": int(totals[k]),
                        "appointment_ref": ref,
                    },
                )
            width = len(codes) + 1
            values = np.hstack([answers, totals[:, None]]).ravel()
            kinds = (["questionnaire-item"] * len(codes) + ["questionnaire-total"]) * len(everything)
            _obs(
                g,
                pid,
                eid,
                [r for r in rids for _ in range(width)],
                [*codes, total_code] * len(everything),
                values,
                "{score}",
                np.repeat(times, width),
                kinds,
            )

    # -- crises ----------------------------------------------------------------------------------------------
    for t, trigger in crisis_weeks:
        g.add(
            "events",
            {"person_id": pid, "episode_id": eid, "kind": "crisis_presentation", "time": t, "trigger": trigger},
        )
        if crisis_rng.random() < params.crisis.admission:
            g.add(
                "events",
                {
                    "person_id": pid,
                    "episode_id": eid,
                    "kind": "admission",
                    "time": t + timedelta(hours=6),
                    "trigger": trigger,
                },
            )
    if relapse_at is not None and crisis_rng.random() < np.exp(
        params.crisis.base + 4 * params.crisis.severity + 2 * risk
    ):
        g.add(
            "events",
            {
                "person_id": pid,
                "episode_id": eid,
                "kind": "crisis_presentation",
                "time": relapse_at + timedelta(days=int(crisis_rng.integers(7, 40))),
                "trigger": None,
            },
        )

    # -- laboratory results around personal setpoints --------------------------------------------------------
    first_day = datetime.combine(referral, datetime.min.time(), UTC) - timedelta(days=365)
    span = (horizon - first_day).days
    cmht = team["kind"] == "cmht"
    for lab in params.labs.values():
        if rng.random() >= lab.share * (3 if cmht else 1):
            continue
        setpoint = lab.mean * float(np.exp(rng.normal(0, lab.between_cv)))
        n = max(1, span // lab.every_days)
        days = np.sort(rng.integers(0, span, n))
        times = np.array([_dt64(first_day + timedelta(days=int(x), hours=9)) for x in days])
        level = np.full(n, setpoint)
        shift_at, shift = None, 0.0
        if rng.random() < params.lab_shift_share and n >= 4:
            k = int(rng.integers(n // 2, n))
            shift = float(rng.choice([-1, 1])) * params.lab_shift_size * lab.cvi * setpoint
            level[k:] += shift
            shift_at = first_day + timedelta(days=int(days[k]) - 1)
        values = level * (1 + rng.normal(0, lab.cvi, n)) * (1 + rng.normal(0, lab.cva, n))
        _obs(g, pid, None, None, lab.code, np.round(values, 3), lab.unit, times, "lab")
        g.add(
            "truth_setpoints",
            {
                "person_id": pid,
                "code": lab.code,
                "setpoint": setpoint,
                "within_cv": lab.cvi,
                "shift_at": shift_at,
                "shift": shift,
            },
        )

    # -- wearable: daily sleep and steps ---------------------------------------------------------------------
    if rng.random() < d.device_share:
        dev = params.devices
        days = int((horizon - start).days)
        t0 = np.datetime64(referral, "D")
        day_index = np.arange(days)
        sleep_set = dev.sleep.mean + rng.normal(0, dev.sleep.between_sd)
        steps_set = dev.steps.mean * float(np.exp(rng.normal(0, dev.steps.between_cv)))
        sleep_level = np.full(days, sleep_set)
        steps_level = np.full(days, steps_set)
        shift_day = None
        if rng.random() < dev.device_shift_share and days > 60:
            shift_day = int(rng.integers(30, days - 14))
            sleep_level[shift_day:] -= 1.0
            steps_level[shift_day:] *= 0.7
        if relapse_at is not None:
            r = int((relapse_at.date() - referral).days) - 14
            if 0 <= r < days:
                sleep_level[r:] -= 0.8
                steps_level[r:] *= 0.75
        worn = rng.random(days) < 0.85
        sleep = np.clip(sleep_level + rng.normal(0, dev.sleep.within_sd, days), 0, 16)[worn]
        steps = np.round(steps_level * np.exp(rng.normal(0, dev.steps.within_cv, days)))[worn]
        base = (t0 + day_index.astype("timedelta64[D]"))[worn].astype("datetime64[us]")
        _obs(
            g,
            pid,
            None,
            None,
            dev.sleep.code,
            np.round(sleep, 2),
            dev.sleep.unit,
            base + np.timedelta64(7, "h"),
            "device",
        )
        _obs(g, pid, None, None, dev.steps.code, steps, dev.steps.unit, base + np.timedelta64(23, "h"), "device")
        for code, setpoint, shift in ((dev.sleep.code, sleep_set, -1.0), (dev.steps.code, steps_set, -0.3 * steps_set)):
            g.add(
                "truth_setpoints",
                {
                    "person_id": pid,
                    "code": code,
                    "setpoint": setpoint,
                    "within_cv": None,
                    "shift_at": (datetime.combine(referral, datetime.min.time(), UTC) + timedelta(days=shift_day))
                    if shift_day
                    else None,
                    "shift": shift if shift_day else 0.0,
                },
            )
    return g


@lru_cache(maxsize=1)
def _cut_points() -> tuple[float, float]:
    """Latent values at which the expected PHQ-9 is 10 and the expected GAD-7 is 8."""
    from idiograph.adaptive.grm import expected_score

    grid = np.linspace(-2, 5, 1401)
    phq, gad = item_banks()
    return (
        float(grid[np.argmax(expected_score(phq, grid) >= 10)]),
        float(grid[np.argmax(expected_score(gad, grid) >= 8)]),
    )


def expected_below_caseness(theta_d: float, theta_a: float) -> bool:
    d, a = _cut_points()
    return theta_d < d and theta_a < a


def today_of(params: Params) -> date:
    return params.window.start + timedelta(days=params.window.days + params.window.follow_up_days)
