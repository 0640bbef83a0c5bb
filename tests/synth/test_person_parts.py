"""The synthetic person's parts: the whole is pinned by a fingerprint, and each part is checked on its own."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import pytest

from idiograph.synth import params as synth_params
from idiograph.synth.common import Generated, Ids, midnight
from idiograph.synth.generator import generate_person, generate_service
from idiograph.synth.person.course import attendance, draw_slot, run_course
from idiograph.synth.person.crises import draw_triggers, record_crises
from idiograph.synth.person.demographics import Preferences, draw_profile
from idiograph.synth.person.devices import device_levels, record_wearable
from idiograph.synth.person.follow_up import follow_up
from idiograph.synth.person.illness import draw_illness, plan_treatment
from idiograph.synth.person.labs import record_labs
from idiograph.synth.person.questionnaires import record_questionnaires
from idiograph.synth.service import Service

P = synth_params.load()

# SHA-256 of the canonical JSON below for people 0..49, computed from generate_person as it was before it was
# split into parts (one 390-line function). Any change to a draw, its order or a row changes these: if a change
# to the generator's output is intended, recompute them and say so in the commit. Floats are written to 10
# significant digits: numpy's exp, log and sin differ in the last bit between CPUs (AVX-512 against AVX2 or
# the baseline), which changed the full-precision hash on a machine without AVX-512 though every draw was the
# same; these values were checked equal with NPY_DISABLE_CPU_FEATURES switching AVX-512 and AVX2 off.
FINGERPRINTS = {
    5: "fc5e3857dc181d2bc446f21c8e2c99fd0382d145227f4c8cd0c7f666e217d79a",
    11: "b80a22010efb58dbb12204246a12e654c0491ba04d17e43709bd68352c131740",  # a same-day lab repeat an hour later
}
N = 2000  # people for the statistical checks
# A share p estimated from N independent people has standard error sqrt(p(1 - p) / N) (at most 0.011 here);
# four standard errors would fail a correct generator about once in 16,000 comparisons for an unlucky seed,
# and the seeds are fixed, so these never flake, yet a wrong share (a swapped or misread parameter) is caught.
Z = 4.0


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value))


def _canonical(value: Any) -> Any:
    """Floats to 10 significant digits (the same on every CPU), everything else as it is."""
    if isinstance(value, float | np.floating):
        return float(f"{float(value):.10g}")
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def fingerprint(seed: int, people: int = 50) -> str:
    """SHA-256 over every table and observation of people 0..people-1, as canonical (sorted-key) JSON."""
    service = generate_service(P, people, seed)
    digest = hashlib.sha256()
    for i in range(people):
        g = generate_person(P, service, seed, i)
        obs = {c: (np.concatenate(v).tolist() if c in ("value", "time") else v) for c, v in g.observations.items()}
        text = json.dumps(
            _canonical({"tables": g.tables, "observations": obs}), default=_plain, sort_keys=True, allow_nan=False
        )
        digest.update(text.encode())
    return digest.hexdigest()


@pytest.mark.parametrize("seed", sorted(FINGERPRINTS))
def test_output_is_what_it_was_before_the_split(seed: int) -> None:
    assert fingerprint(seed) == FINGERPRINTS[seed]


def _close(share: float, expected: float, n: int = N) -> bool:
    return abs(share - expected) <= Z * np.sqrt(expected * (1 - expected) / n)


@pytest.fixture(scope="module")
def service() -> Service:
    return generate_service(P, N, 5)


def _rng(i: int, stream: int = 1) -> np.random.Generator:
    return np.random.default_rng([5, stream, i])


def test_demographics_match_the_parameters(service: Service) -> None:
    d = P.demographics
    profiles = [draw_profile(P, service, _rng(i)) for i in range(N)]
    assert _close(sum(p.who.sex == "female" for p in profiles) / N, d.female)
    assert _close(sum(p.who.language != "en" for p in profiles) / N, d.non_english_preferred)
    ethnicity = Counter(p.who.ethnicity for p in profiles)
    total = sum(d.ethnicity.values())
    for code in ("A", "C", "H", "N"):  # the four largest categories
        assert _close(ethnicity[code] / N, d.ethnicity[code] / total), code
    w = np.asarray(d.deprivation_weights) / sum(d.deprivation_weights)
    deciles = Counter(p.who.decile for p in profiles)
    assert set(deciles) <= set(range(1, 11))
    assert all(_close(deciles[k + 1] / N, w[k]) for k in range(10))
    teams = Counter(p.team["name"] for p in profiles)
    shares = sum(t.share for t in P.service.teams)
    assert all(_close(teams[t.name] / N, t.share / shares) for t in P.service.teams)
    window_end = P.window.start + timedelta(days=P.window.days)
    for p in profiles:
        assert P.window.start <= p.who.referral < window_end
        assert d.age.min <= p.who.age <= d.age.max and p.who.birth < p.who.referral
        assert p.clinician.team_id == p.team["team_id"] and p.clinician.role == "clinician"
        assert (
            p.who.language == "en"
            or p.who.language in p.clinician.languages
            or not any(
                p.who.language in c.languages
                for c in service.clinicians
                if c.team_id == p.team["team_id"] and c.role == "clinician"
            )
        )


def test_illness_and_plan(service: Service) -> None:
    s = P.severity
    drawn = []
    for i in range(N):
        rng = _rng(i)
        profile = draw_profile(P, service, rng)
        illness = draw_illness(P, rng)
        drawn.append((profile, illness, plan_treatment(P, profile, illness, rng)))
    assert _close(sum(x[1].chronic for x in drawn) / N, s.chronic_share)
    d = np.array([x[1].theta_d0 - x[1].problem.dep for x in drawn])
    a = np.array([x[1].theta_a0 - x[1].problem.anx for x in drawn])
    # the standard error of a correlation near 0.65 from 2,000 pairs is (1 - r^2) / sqrt(N), about 0.013
    assert abs(np.corrcoef(d, a)[0, 1] - s.anxiety_correlation) < 0.05
    assert abs(d.mean() - s.intake_mean) < Z * s.intake_sd / np.sqrt(N)
    for profile, _, plan in drawn:
        assert plan.intervention in plan.options and plan.best in plan.options
        assert plan.effects[plan.best] == max(plan.effects[k] for k in plan.options)
        assert ("medication_review" in plan.options) == (profile.team["kind"] == "cmht")


def _course(i: int, service: Service) -> tuple[Any, ...]:
    rng, crisis_rng = _rng(i), _rng(i, 2)
    ids = Ids.of(5, i)
    profile = draw_profile(P, service, rng)
    illness = draw_illness(P, rng)
    triggers = draw_triggers(P, profile.who.referral, crisis_rng)
    plan = plan_treatment(P, profile, illness, rng)
    return profile, illness, plan, run_course(P, ids, profile, illness, plan, triggers, rng, crisis_rng)


def test_no_episode_ends_before_it_starts(service: Service) -> None:
    reasons = Counter[str]()
    for i in range(400):
        profile, _, plan, course = _course(i, service)
        starts = [a["start"] for a in course.appointments]
        assert starts == sorted(starts) and starts[0] > midnight(profile.who.referral)
        assert course.appointments[0]["kind"] == "assessment"
        assert all(a["kind"] == "treatment" for a in course.appointments[1:])
        status = Counter(a["status"] for a in course.appointments)
        assert course.dnas == status["dna"] and course.cancels == status["cancelled_person"]
        treated = sum(a["status"] == "attended" and a["kind"] == "treatment" for a in course.appointments)
        assert course.attended_treatment == treated <= plan.iv.sessions
        assert len(course.responses) == status["attended"]
        assert all(midnight(profile.who.referral) < t < starts[-1] + timedelta(days=7) for t, _ in course.crises)
        reasons[course.discharge_reason] += 1
    assert set(reasons) <= {"completed", "disengaged", "not_suitable", "declined", "transferred"}
    assert reasons["completed"] > reasons["disengaged"] > 0


def test_a_slot_fits_and_attendance_follows_the_parameters() -> None:
    prefs = Preferences("video", "remote", "morning")
    rng = _rng(0)
    for _ in range(500):
        slot = draw_slot(P, prefs, midnight(date(2024, 3, 4)), rng)
        assert slot.start.hour in P.slots.hours and slot.fit in (0, 1 / 3, 2 / 3, 1)
        assert slot.format in P.slots.formats if slot.place == "remote" else slot.format == "in_person"
    always = P.attendance.model_copy(update={"service_cancel": 1.0})
    assert {attendance(always, 0.5, 5, 1.7, rng) for _ in range(50)} == {"cancelled_service"}
    never = P.attendance.model_copy(update={"service_cancel": 0.0, "base": -50.0, "cancel_share": 0.0})
    assert {attendance(never, 0.5, 5, 1.7, rng) for _ in range(50)} == {"dna"}


def test_follow_up_stays_before_the_horizon_and_relapse_needs_recovery() -> None:
    discharge = date(2024, 5, 1)
    horizon = midnight(discharge) + timedelta(days=P.window.follow_up_days)
    followed = relapses = 0
    for i in range(N):
        well = follow_up(P, discharge, horizon, (0.0, 0.0), _rng(i))
        unwell = follow_up(P, discharge, horizon, (2.5, 2.5), _rng(i))
        assert unwell.relapse_at is None
        times = [c[0] for c in well.contacts]
        assert all(midnight(discharge) < t < horizon for t in times)
        assert all(b - a == timedelta(days=30) for a, b in pairwise(times))
        followed += bool(times)
        relapses += well.relapse_at is not None
    assert _close(followed / N, P.relapse.follow_up_share)
    assert 0 < relapses < followed


def test_questionnaire_totals_are_the_sum_of_items(service: Service) -> None:
    g = Generated()
    contacts = [(midnight(date(2024, 1, 1)) + timedelta(weeks=k), 1.5 - 0.1 * k, 1.2, f"c{k}") for k in range(10)]
    record_questionnaires(g, Ids.of(5, 0), contacts, 0.3, _rng(0))
    assert [r["instrument"] for r in g.tables["responses"]] == ["phq-9"] * 10 + ["gad-7"] * 10
    values = np.concatenate(g.observations["value"])
    for r in g.tables["responses"]:
        mine = values[[k for k, rid in enumerate(g.observations["response_id"]) if rid == r["response_id"]]]
        assert len(mine) == (10 if r["instrument"] == "phq-9" else 8)
        assert ((mine[:-1] >= 0) & (mine[:-1] <= 3)).all() and mine[:-1].sum() == mine[-1] == r["total"]


def test_crises_and_admissions(service: Service) -> None:
    for i in range(200):
        triggers = draw_triggers(P, date(2024, 1, 1), _rng(i, 2))
        assert triggers.events == sorted(triggers.events)
        assert {name for _, name in triggers.events} <= set(triggers.names) <= set(P.crisis.triggers)
    g = Generated()
    t = midnight(date(2024, 2, 1))
    certain = P.model_copy(update={"crisis": P.crisis.model_copy(update={"admission": 1.0})})
    record_crises(g, Ids.of(5, 0), certain, [(t, "housing")], None, 0.0, _rng(0, 2))
    assert [(e["kind"], e["time"] - t, e["trigger"]) for e in g.tables["events"]] == [
        ("crisis_presentation", timedelta(0), "housing"),
        ("admission", timedelta(hours=6), "housing"),
    ]


def test_no_observation_is_after_the_window_end(service: Service) -> None:
    """Each person's window ends follow_up_days after their discharge; labs, wearables and answers all stop there."""
    for i in range(300):
        g = generate_person(P, service, 5, i)
        episode = g.tables["episodes"][0]
        end = np.datetime64(midnight(episode["discharge_date"]).replace(tzinfo=None), "us")
        end += np.timedelta64(P.window.follow_up_days, "D")
        start = np.datetime64(midnight(episode["referral_date"]).replace(tzinfo=None), "us")
        times = np.concatenate(g.observations["time"])
        kinds = np.asarray(g.observations["kind"])
        assert (times < end).all()
        assert (times[kinds != "lab"] > start).all()  # labs reach back a year before referral
        assert (times[kinds == "lab"] >= start - np.timedelta64(365, "D")).all()


def test_labs_and_wearables_on_their_own() -> None:
    referral = date(2024, 1, 10)
    horizon = midnight(referral) + timedelta(days=500)
    g = Generated()
    ids = Ids.of(5, 0)
    for i in range(300):
        record_labs(g, ids, P, referral, horizon, True, _rng(i))
        record_wearable(g, ids, P, referral, horizon, None, _rng(i))
    times = np.concatenate(g.observations["time"])
    assert (times < np.datetime64(horizon.replace(tzinfo=None), "us")).all()
    kinds = Counter(g.observations["kind"])
    assert kinds["lab"] > 0 and kinds["device"] > 0
    codes = {r["code"] for r in g.tables["truth_setpoints"]}
    assert codes == {lab.code for lab in P.labs.values()} | {P.devices.sleep.code, P.devices.steps.code}
    relapse = midnight(referral) + timedelta(days=200)
    plain = device_levels(P.devices, 400, referral, None, _rng(1))
    before = device_levels(P.devices, 400, referral, relapse, _rng(1))
    fall = plain.sleep - before.sleep
    assert (fall[: 200 - 14] == 0).all() and np.allclose(fall[200 - 14 :], 0.8)
