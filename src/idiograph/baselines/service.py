"""Use cases for personal baselines: fit population priors, keep each person's state, judge each new result.

Statistics live in the pure modules (normal_normal, biological_variation, running, methods.change_detection);
this module loads, calls them, stores and audits.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from idiograph.alerts.kinds import Kind
from idiograph.alerts.service import NewAlert, raise_many
from idiograph.baselines import settings as baseline_settings
from idiograph.baselines.intervals import Scale, to_model
from idiograph.baselines.measure import MeasureBaseline, baselines_from_points, in_order, scale_of, usable
from idiograph.baselines.model import BaselinePrior, BaselineState
from idiograph.baselines.normal_normal import (
    PersonSums,
    Prior,
    estimate_prior,
)
from idiograph.baselines.running import STATE_FIELDS, TITLES, Departure, RunningBaseline, reason
from idiograph.db import bulk_insert, chunked, new_id, utcnow
from idiograph.observations.catalogue import CodeDef
from idiograph.observations.model import Observation
from idiograph.observations.service import CodeBook, StoredRow
from idiograph.patients.access import ensure_access
from idiograph.patients.demographics import age_band
from idiograph.patients.model import Person
from idiograph.security import audit
from idiograph.security.audit import Actor
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

MODELLED = ("lab", "vital", "device", "questionnaire-total")
EVERYONE = ("", "")
Key = tuple[str, str]  # (system, code)


def modelled_codes(codes: CodeBook) -> dict[Key, CodeDef]:
    return {(c.system, c.code): c for c in codes.all() if c.kind in MODELLED}


# -- population priors ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitReport:
    priors: int
    measures: int
    states: int
    skipped: dict[str, str]


def _stratum(sex: str, birth: date | None, on: date) -> tuple[str, str]:
    return (sex or "unknown", age_band(birth, on))


def fit_priors(session: Session, actor: Actor, today: date | None = None, raise_latest: bool = False) -> FitReport:
    """Estimate each measure's prior (and per sex and age band where there are enough people), then rebuild
    every person's state from their results. One transaction is the caller's."""
    cfg = baseline_settings.load()
    today = today or utcnow().date()
    codes = CodeBook(session)
    modelled = modelled_codes(codes)
    strata = _strata(session, None, today)
    sums: dict[Key, dict[uuid.UUID, list[float]]] = defaultdict(dict)
    q = select(Observation.person_id, Observation.system, Observation.code, Observation.value).where(
        Observation.code.in_({c for _, c in modelled})
    )
    for pid, system, code, value in session.execute(q).yield_per(50_000):
        c = modelled.get((system, code))
        if c is None or not usable(value, scale_of(c)):
            continue
        x = to_model(value, scale_of(c))
        acc = sums[(system, code)].get(pid)
        if acc is None:
            sums[(system, code)][pid] = [1.0, x, x * x]
        else:
            acc[0] += 1
            acc[1] += x
            acc[2] += x * x
    session.execute(update(BaselinePrior).where(BaselinePrior.active.is_(True)).values(active=False))
    rows: list[dict[str, object]] = []
    skipped: dict[str, str] = {}
    now = utcnow()
    for key, per_person in sorted(sums.items()):
        c = modelled[key]
        groups: dict[tuple[str, str], list[PersonSums]] = defaultdict(list)
        for pid, (n, t, tt) in per_person.items():
            ps = PersonSums(int(n), t, tt)
            groups[EVERYONE].append(ps)
            groups[strata.get(pid, ("unknown", "unknown"))].append(ps)
        if len(groups[EVERYONE]) < cfg.min_prior_people:
            skipped[c.display] = f"{len(groups[EVERYONE])} people, fewer than {cfg.min_prior_people}"
            continue
        for stratum, people in groups.items():
            if stratum != EVERYONE and len(people) < cfg.min_stratum_people:
                continue
            try:
                p = estimate_prior(people, scale_of(c))
            except ValueError as e:
                if stratum == EVERYONE:
                    skipped[c.display] = str(e)
                continue
            rows.append(
                {
                    "id": new_id(),
                    "system": key[0],
                    "code": key[1],
                    "sex": stratum[0],
                    "age_band": stratum[1],
                    "scale": p.scale,
                    "m0": p.m0,
                    "tau2": p.tau2,
                    "sigma2": p.sigma2,
                    "people": p.people,
                    "results": p.results,
                    "fitted_at": now,
                    "fitted_by": actor.username,
                    "active": True,
                }
            )
    bulk_insert(session, BaselinePrior.__table__, rows)
    session.flush()
    states = rebuild_states(session, actor, raise_latest=raise_latest)
    audit.append(
        session,
        actor,
        "fit",
        "BaselinePrior",
        None,
        None,
        detail={"priors": len(rows), "measures": len({(r["system"], r["code"]) for r in rows}), "states": states},
    )
    return FitReport(len(rows), len({(r["system"], r["code"]) for r in rows}), states, skipped)


class Priors:
    """Active priors, looked up by measure and the person's stratum (falling back to everyone)."""

    def __init__(self, session: Session, keys: Iterable[Key] | None = None) -> None:
        q = select(BaselinePrior).where(BaselinePrior.active.is_(True))
        if keys is not None:
            q = q.where(BaselinePrior.code.in_({c for _, c in keys}))
        self._by: dict[Key, dict[tuple[str, str], BaselinePrior]] = defaultdict(dict)
        for p in session.scalars(q):
            self._by[(p.system, p.code)][(p.sex, p.age_band)] = p

    def __contains__(self, key: Key) -> bool:
        return key in self._by

    def stratified(self) -> bool:
        """Whether any measure here has priors by sex and age band (else the person's stratum is not needed)."""
        return any(len(by) > 1 for by in self._by.values())

    def row(self, key: Key, stratum: tuple[str, str] = EVERYONE) -> BaselinePrior | None:
        by = self._by.get(key)
        if not by:
            return None
        return by.get(stratum) or by.get(EVERYONE)

    def get(self, key: Key, stratum: tuple[str, str] = EVERYONE) -> Prior | None:
        r = self.row(key, stratum)
        if r is None:
            return None
        return Prior(r.m0, r.tau2, r.sigma2, "log" if r.scale == "log" else "linear", r.people, r.results)


# -- running state and judgement -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A departure found for one person and measure, before it becomes an alert."""

    person_id: uuid.UUID
    key: Key
    departure: Departure


def rebuild_states(
    session: Session, actor: Actor, people: Sequence[uuid.UUID] | None = None, raise_latest: bool = False
) -> int:
    """Recompute states from stored results (all people, or some). With ``raise_latest`` the latest result
    of each measure is judged as if it had just arrived (used after the demo's bulk history)."""
    cfg = baseline_settings.load()
    codes = CodeBook(session)
    modelled = modelled_codes(codes)
    priors = Priors(session)
    keys = [k for k in modelled if k in priors]
    if not keys:
        return 0
    strata = _strata(session, people)
    series: dict[tuple[uuid.UUID, Key], list[tuple[datetime, float]]] = defaultdict(list)
    q = select(Observation.person_id, Observation.system, Observation.code, Observation.effective_at, Observation.value)
    q = q.where(Observation.code.in_({c for _, c in keys}))
    batches = [q] if people is None else [q.where(Observation.person_id.in_(ch)) for ch in chunked(list(people))]
    for b in batches:
        for pid, system, code, t, v in session.execute(b).yield_per(50_000):
            if (system, code) in priors and usable(v, scale_of(modelled[(system, code)])):
                series[(pid, (system, code))].append((t, v))
    if people is None:
        session.execute(delete(BaselineState))
    else:
        for ch in chunked(list(people)):
            session.execute(delete(BaselineState).where(BaselineState.person_id.in_(ch)))
    rows: list[dict[str, object]] = []
    findings: list[Finding] = []
    now = utcnow()
    for (pid, key), points in series.items():
        c = modelled[key]
        judge = cfg.judge_for(c.kind)
        prior = priors.get(key, strata.get(pid, EVERYONE))
        st = RunningBaseline()
        ordered = in_order(points)
        for i, (t, v) in enumerate(ordered):
            d = st.update(c, prior, t, v, judge, cfg)
            if d is not None and raise_latest and i == len(ordered) - 1:
                findings.append(Finding(pid, key, d))
        if prior is not None:
            rows.append(_state_row(pid, key, st, prior, now))
    bulk_insert(session, BaselineState.__table__, rows)
    if findings:
        raise_findings(session, actor, findings)
    return len(rows)


def replay(session: Session, rows: Sequence[StoredRow]) -> list[NewAlert]:
    """The baseline rule on a failure's results at its retry: each person's state rebuilt from everything else
    stored, then these results taken in the order given (the order they arrived) as if arriving now - judged
    when newer than the state, otherwise (a result that was late when it arrived) rebuilt in without judging,
    as ``judge_new`` does. Without this, a state that moved on meanwhile (a correction, a refit of the priors)
    made the failed result late, and it was never judged."""
    cfg = baseline_settings.load()
    codes = CodeBook(session)
    modelled = modelled_codes(codes)
    priors = Priors(session)
    people = list(dict.fromkeys(r.person_id for r in rows))
    replayed = {r.observation_id for r in rows}
    keys = [k for k in modelled if k in priors]
    if not people or not keys:
        return []
    strata = _strata(session, people)
    base: dict[tuple[uuid.UUID, Key], list[tuple[datetime, float]]] = defaultdict(list)
    stored: dict[uuid.UUID, tuple[uuid.UUID, Key, datetime, float]] = {}
    q = select(
        Observation.id,
        Observation.person_id,
        Observation.system,
        Observation.code,
        Observation.effective_at,
        Observation.value,
    ).where(Observation.code.in_({c for _, c in keys}))
    for ch in chunked(people):
        for oid, pid, system, code, t, v in session.execute(q.where(Observation.person_id.in_(ch))):
            key = (system, code)
            if key not in priors or not usable(v, scale_of(modelled[key])):
                continue
            if oid in replayed:
                stored[oid] = (pid, key, t, v)
            else:
                base[(pid, key)].append((t, v))
    findings: list[Finding] = []
    states: dict[tuple[uuid.UUID, Key], RunningBaseline] = {}

    def rebuilt(pid: uuid.UUID, key: Key) -> RunningBaseline:
        st = RunningBaseline()
        prior = priors.get(key, strata.get(pid, EVERYONE))
        for t, v in in_order(base[(pid, key)]):
            st.update(modelled[key], prior, t, v, cfg.judge_for(modelled[key].kind), cfg)
        return st

    for r in rows:
        if r.observation_id not in stored:
            continue  # not a modelled result, not usable, or no longer stored
        pid, key, t, v = stored.pop(r.observation_id)
        prior = priors.get(key, strata.get(pid, EVERYONE))
        if prior is None:
            continue
        st = states.get((pid, key)) or rebuilt(pid, key)
        base[(pid, key)].append((t, v))
        if st.latest_at is not None and t <= st.latest_at:
            states[(pid, key)] = rebuilt(pid, key)  # late when it arrived: rebuilt in, not judged
            continue
        d = st.update(modelled[key], prior, t, v, cfg.judge_for(modelled[key].kind), cfg)
        states[(pid, key)] = st
        if d is not None:
            findings.append(Finding(pid, key, d))
    now = utcnow()
    for pid, (system, code) in states:  # exactly the states replayed (a failure's people are few)
        session.execute(
            delete(BaselineState).where(
                BaselineState.person_id == pid, BaselineState.system == system, BaselineState.code == code
            )
        )
    bulk_insert(
        session,
        BaselineState.__table__,
        [
            _state_row(pid, key, st, prior, now)
            for (pid, key), st in states.items()
            if (prior := priors.get(key, strata.get(pid, EVERYONE))) is not None
        ],
    )
    return deviation_alerts(findings)


def _columns(st: RunningBaseline) -> dict[str, object]:
    return {name: getattr(st, name) for name in STATE_FIELDS}


def _strata(
    session: Session, people: Iterable[uuid.UUID] | None, today: date | None = None
) -> dict[uuid.UUID, tuple[str, str]]:
    """Each person's (sex, age band) for stratified priors: everyone, or the people given."""
    today = today or utcnow().date()
    q = select(Person.id, Person.sex, Person.birth_date)
    out: dict[uuid.UUID, tuple[str, str]] = {}
    for ch in [None] if people is None else chunked(list(people)):
        qq = q if ch is None else q.where(Person.id.in_(ch))
        out.update({pid: _stratum(sex, birth, today) for pid, sex, birth in session.execute(qq)})
    return out


def deviation_alerts(findings: Sequence[Finding]) -> list[NewAlert]:
    """Findings as the deviation alerts they raise (one per rule, person, measure and result time)."""
    return [
        NewAlert(
            f.person_id,
            Kind.DEVIATION,
            TITLES[f.departure.rule],
            reason(f.departure),
            f"{f.departure.rule}:{f.person_id}:{f.key[1]}:{f.departure.time.isoformat()}",
            f.departure.detail,
        )
        for f in findings
    ]


def raise_findings(session: Session, actor: Actor, findings: Sequence[Finding]) -> int:
    """Turn findings into deviation alerts, once per source, audited."""
    return len(raise_many(session, actor, deviation_alerts(findings)))


def judge_new(session: Session, rows: Sequence[StoredRow]) -> list[NewAlert]:
    """The pipeline's baseline rule: judge each new result against the person's earlier ones, update the states,
    and return the deviation alerts to raise.

    The common path reads one state row per (person, measure) - it carries the prior - and writes it back."""
    codes = CodeBook(session)
    cfg = baseline_settings.load()
    wanted: dict[tuple[uuid.UUID, Key], list[tuple[datetime, float]]] = defaultdict(list)
    modelled: dict[Key, CodeDef] = {}
    stale: set[uuid.UUID] = set()
    for r in rows:
        c = codes.get(r.system, r.code)
        if c is not None and c.kind in MODELLED:
            modelled[(r.system, r.code)] = c
            if not r.created:
                stale.add(r.person_id)  # a corrected record: rebuild from the store, judge nothing
            elif usable(r.value, scale_of(c)):
                wanted[(r.person_id, (r.system, r.code))].append((r.time, r.value))
    findings: list[Finding] = []
    wanted = {k: v for k, v in wanted.items() if k[0] not in stale}
    if wanted:
        people = sorted({pid for pid, _ in wanted})
        existing: dict[tuple[uuid.UUID, Key], Any] = {}
        codes_wanted = sorted({c for _, c in modelled})
        for ch in chunked(people):
            # a prebuilt Core statement: this runs on every stored result (benchmarks/baselines_judge.py)
            for row in session.execute(_STATES, {"people": list(ch), "codes": codes_wanted}):
                existing[(row.person_id, (row.system, row.code))] = row
        priors: Priors | None = None
        strata: dict[uuid.UUID, tuple[str, str]] = {}
        if any(k not in existing for k in wanted):  # someone's first result of a measure: look the prior up
            priors = Priors(session, modelled)
            if priors.stratified():
                strata = _strata(session, people)
        inserts = []
        updates: list[dict[str, object]] = []
        now = utcnow()
        for (pid, key), points in wanted.items():
            c = modelled[key]
            row = existing.get((pid, key))
            if row is not None:
                prior = _prior_of(row)
                st = RunningBaseline(**{k: getattr(row, k) for k in STATE_FIELDS})
            else:
                assert priors is not None
                prior = priors.get(key, strata.get(pid, EVERYONE))
                st = RunningBaseline()
            if prior is None:
                continue  # no prior for this measure yet: nothing to judge against
            for t, v in in_order(points):
                if st.latest_at is not None and t <= st.latest_at:
                    stale.add(pid)  # not newer than the latest: rebuild this person from the store, judge nothing
                    break
                d = st.update(c, prior, t, v, cfg.judge_for(c.kind), cfg)
                if d is not None:
                    findings.append(Finding(pid, key, d))
            if pid in stale:
                continue
            if row is None:
                inserts.append(_state_row(pid, key, st, prior, now))
            else:
                updates.append({"row_id": row.id, **_columns(st), "updated_at": now})
        bulk_insert(session, BaselineState.__table__, inserts)
        if updates:
            session.execute(_UPDATE_STATE, updates)
    if stale:
        rebuild_states(session, Actor.system("baselines"), sorted(stale))
    return deviation_alerts(findings)


_T = BaselineState.__table__
# locked (PostgreSQL; SQLite writers are serialised already): two results of one person stored at once would
# otherwise both read the state and the second write would lose the first's update
_STATES = (
    select(_T)
    .where(_T.c.person_id.in_(bindparam("people", expanding=True)), _T.c.code.in_(bindparam("codes", expanding=True)))
    .with_for_update()
)
_UPDATE_STATE = (
    _T.update()
    .where(_T.c.id == bindparam("row_id"))
    .values({name: bindparam(name) for name in (*STATE_FIELDS, "updated_at")})
)


def _prior_of(row: Any) -> Prior | None:
    if row.prior_m0 is None or row.prior_tau2 is None or row.prior_sigma2 is None:
        return None
    scale: Scale = "log" if row.prior_scale == "log" else "linear"
    return Prior(row.prior_m0, row.prior_tau2, row.prior_sigma2, scale, row.prior_people)


def _state_row(pid: uuid.UUID, key: Key, st: RunningBaseline, prior: Prior, now: datetime) -> dict[str, object]:
    return {
        "id": new_id(),
        "person_id": pid,
        "system": key[0],
        "code": key[1],
        **_columns(st),
        "prior_m0": prior.m0,
        "prior_tau2": prior.tau2,
        "prior_sigma2": prior.sigma2,
        "prior_scale": prior.scale,
        "prior_people": prior.people,
        "updated_at": now,
    }


# -- what a clinician sees -------------------------------------------------------------------------------------


def for_person(session: Session, principal: Principal, person_id: uuid.UUID, via: str = "api") -> list[MeasureBaseline]:
    """Every modelled measure the person has, with their band and the population's; an audited read."""
    cfg = baseline_settings.load()
    ensure_access(session, principal, person_id, Permission.PERSON_READ)
    codes = CodeBook(session)
    modelled = modelled_codes(codes)
    q = select(Observation.system, Observation.code, Observation.effective_at, Observation.value).where(
        Observation.person_id == person_id
    )
    series: dict[Key, list[tuple[datetime, float]]] = defaultdict(list)
    for system, code, t, v in session.execute(q):
        if (system, code) in modelled:
            series[(system, code)].append((t, v))
    priors = Priors(session, series)
    stratum = _strata(session, [person_id]).get(person_id, EVERYONE)
    out = []
    for key, pts in sorted(series.items(), key=lambda kv: (modelled[kv[0]].kind, modelled[kv[0]].display)):
        row = priors.row(key, stratum)
        out.append(
            baselines_from_points(
                modelled[key], pts, priors.get(key, stratum), cfg.display_coverage, row.people if row else 0
            )
        )
    audit.append(
        session, principal.actor, "read", "Baseline", None, person_id, detail={"via": via, "measures": len(out)}
    )
    return out
