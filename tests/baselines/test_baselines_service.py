"""Personal baselines through the service: priors from the service's data, judgement as each result
arrives, relapse after discharge, and what the API and page show."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from idiograph.alerts.model import Alert
from idiograph.baselines import service
from idiograph.baselines.model import BaselinePrior, BaselineState
from idiograph.baselines.normal_normal import Prior, interval
from idiograph.db import transaction
from idiograph.patients.model import Episode
from idiograph.security.model import AuditRecord, Team
from idiograph.security.principal import Principal

HB = "718-7"
NOW = datetime.now(UTC).replace(microsecond=0)


def _person(client, staff, name: str = "Ada"):  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/people", json={"given_name": name, "family_name": "Test", "sex": "female"}, headers=staff.auth
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _post(client, staff, pid: str, values: list[float], code: str = HB, start_days: int = 400, step: int = 30):  # type: ignore[no-untyped-def]
    rows = [
        {"person_id": pid, "code": code, "value": v, "time": (NOW - timedelta(days=start_days - i * step)).isoformat()}
        for i, v in enumerate(values)
    ]
    r = client.post("/api/v1/observations", json={"observations": rows}, headers=staff.auth)
    assert r.status_code == 200, r.text


def _prior(db, code: str = HB, m0: float = 138.0, tau2: float = 100.0, sigma2: float = 9.0) -> Prior:  # type: ignore[no-untyped-def]
    with transaction(db):
        db.add(
            BaselinePrior(
                system="http://loinc.org",
                code=code,
                m0=m0,
                tau2=tau2,
                sigma2=sigma2,
                people=500,
                results=3000,
                fitted_by="test",
            )
        )
    return Prior(m0, tau2, sigma2, "linear", 500, 3000)


def test_inside_the_population_range_but_outside_their_own_raises_a_deviation_alert(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    prior = _prior(db)
    pid = _person(client, clin)
    own = [150.0, 151.0, 149.0, 150.0, 150.5, 149.5]
    _post(client, clin, pid, own)
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "deviation")) == 0
    _post(client, clin, pid, [136.0], start_days=10)  # well inside the population's 99 % (about 112-164)
    alert = db.scalar(select(Alert).where(Alert.kind == "deviation"))
    assert alert is not None and alert.person_id == uuid.UUID(pid)
    expected = interval(prior, own, 0.99, (10, 300))
    assert alert.detail["lower"] == round(expected.lower, 4) and alert.detail["upper"] == round(expected.upper, 4)
    assert alert.detail["n_earlier"] == 6 and alert.detail["side"] == "below"
    assert alert.reason.startswith("Haemoglobin 136 g/L on ") and "below the usual range for this" in alert.reason
    assert "own 99% interval" in str(alert.detail["workings"])
    st = db.scalar(select(BaselineState).where(BaselineState.person_id == uuid.UUID(pid)))
    assert st is not None and st.n == 7 and st.latest_value == 136.0
    # re-sending the same result changes nothing and raises nothing new
    _post(client, clin, pid, [136.0], start_days=10)
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "deviation")) == 1


def test_an_older_result_arriving_late_rebuilds_the_baseline_without_alerting(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    _prior(db)
    pid = _person(client, clin)
    _post(client, clin, pid, [150.0, 151.0, 149.0], start_days=100)
    _post(client, clin, pid, [120.0], start_days=900)  # far outside their range, but years old
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "deviation")) == 0
    st = db.scalar(select(BaselineState).where(BaselineState.person_id == uuid.UUID(pid)))
    assert st is not None and st.n == 4 and st.latest_value == 149.0
    assert st.total == sum([150.0, 151.0, 149.0, 120.0])
    # a correction of an existing record (same source id, new value) is rebuilt, not counted twice
    fix = {
        "person_id": pid,
        "code": HB,
        "value": 150.0,
        "time": (NOW - timedelta(days=100)).isoformat(),
        "source": "lab",
        "source_id": "R1",
    }
    assert client.post("/api/v1/observations", json={"observations": [fix]}, headers=clin.auth).status_code == 200
    fix["value"] = 152.0
    assert client.post("/api/v1/observations", json={"observations": [fix]}, headers=clin.auth).status_code == 200
    db.expire_all()
    st = db.scalar(select(BaselineState).where(BaselineState.person_id == uuid.UUID(pid)))
    assert st is not None and st.n == 5 and st.total == sum([150.0, 151.0, 149.0, 120.0, 152.0])


def test_priors_are_fitted_from_the_service_and_incremental_state_equals_a_rebuild(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    people = [_person(client, clin, f"P{i}") for i in range(12)]
    for i, pid in enumerate(people):
        _post(client, clin, pid, [130.0 + i + d for d in (-1.0, 0.5, 1.5)], start_days=300)
    with transaction(db):
        rep = service.fit_priors(db, Principal.system("test").actor)
    assert rep.priors >= 1 and rep.states == 12
    p = db.scalar(select(BaselinePrior).where(BaselinePrior.code == HB, BaselinePrior.sex == "", BaselinePrior.active))
    assert p is not None and p.people == 12 and p.results == 36
    assert p.m0 == pytest.approx(sum(130.0 + i + 1 / 3 for i in range(12)) / 12, rel=1e-12)
    # new results update states incrementally; a rebuild from the store gives the same sums
    for pid in people[:4]:
        _post(client, clin, pid, [135.0], start_days=5)
    before = {(s.person_id, s.n, round(s.total, 9), round(s.total_sq, 6)) for s in db.scalars(select(BaselineState))}
    with transaction(db):
        service.rebuild_states(db, Principal.system("test").actor)
    after = {(s.person_id, s.n, round(s.total, 9), round(s.total_sq, 6)) for s in db.scalars(select(BaselineState))}
    assert before == after
    audit = db.scalar(
        select(AuditRecord).where(AuditRecord.action == "fit", AuditRecord.resource_type == "BaselinePrior")
    )
    assert audit is not None


def test_a_rise_after_discharge_raises_a_relapse_signal_to_the_discharging_team(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    pid = _person(client, clin)
    team = db.scalar(select(Team).where(Team.name == "North"))
    discharged = (NOW - timedelta(days=120)).date()
    with transaction(db):
        db.add(
            Episode(
                person_id=uuid.UUID(pid),
                team_id=team.id,
                referral_date=discharged - timedelta(days=120),
                referral_source="gp",
                presenting_problem="depression",
                pathway="cbt",
                discharge_date=discharged,
                discharge_reason="completed",
            )
        )
    phq9 = "44261-6"
    _post(client, clin, pid, [16, 9, 6, 5, 4], code=phq9, start_days=200, step=20)  # recovered: baseline 5
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "relapse")) == 0
    _post(client, clin, pid, [5, 6], code=phq9, start_days=90, step=30)  # steady after discharge
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "relapse")) == 0
    _post(client, clin, pid, [9, 12], code=phq9, start_days=25, step=20)
    alert = db.scalar(select(Alert).where(Alert.kind == "relapse"))
    assert alert is not None and alert.detail["team"] == "North" and alert.detail["baseline"] == 5.0
    assert alert.detail["discharged"] == discharged.isoformat() and "CUSUM" not in alert.reason
    assert alert.reason.startswith("PHQ-9 has risen since discharge: 12 on ") and "up from about 5" in alert.reason
    assert "CUSUM" in str(alert.detail["workings"]) and alert.detail["arl0"] == 48  # the method one click away
    # one signal per discharged episode
    _post(client, clin, pid, [14], code=phq9, start_days=2)
    assert db.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "relapse")) == 1


def test_the_api_and_page_show_personal_and_population_intervals(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    other = make_staff("other", "clinician", ("South",))
    _prior(db)
    pid = _person(client, clin)
    _post(client, clin, pid, [150.0, 151.0])
    _post(client, clin, pid, [1.9, 2.1, 2.0], code="3016-3")  # TSH: no prior, so Coskun with published CVI
    r = client.get(f"/api/v1/people/{pid}/baselines", headers=clin.auth)
    assert r.status_code == 200, r.text
    by = {b["code"]: b for b in r.json()}
    hb, tsh = by[HB], by["3016-3"]
    assert hb["personal"]["personal"] and hb["population"]["lower"] < hb["personal"]["lower"]
    assert "empirical Bayes" in hb["note"] and "only 2 results" in hb["note"]
    assert (
        tsh["population"] is None
        and "published CVI" in tsh["note"]
        and tsh["reference_change"]["symmetric_percent"] > 0
    )
    assert db.scalar(
        select(func.count())
        .select_from(AuditRecord)
        .where(AuditRecord.resource_type == "Baseline", AuditRecord.person_id == uuid.UUID(pid))
    )
    assert client.get(f"/api/v1/people/{pid}/baselines", headers=other.auth).status_code in (403, 404)
    from tests.web.test_pages import login

    login(client, "clin")
    page = client.get(f"/people/{pid}").text
    assert "Personal baselines" in page and "Usual for people like them" in page and "published CVI" in page
