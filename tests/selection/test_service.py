"""The service's own options model: fitted from its finished episodes (versioned, audited), served per person by
``GET /api/v1/people/{id}/options`` to those who may open the record, audited, with no number where support is thin."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from idiograph.patients.model import CaseloadAssignment, Episode
from idiograph.security.model import AuditRecord, Team
from idiograph.selection.model import SelectionModel


@pytest.fixture
def fitted(run, db):  # type: ignore[no-untyped-def]
    """A 400-person demo service with the options model fitted on it."""
    r = run("demo", "--people", "400", "--seed", "3")
    assert r.exit_code == 0, r.output
    r = run("selection", "fit")
    assert r.exit_code == 0, r.output
    return r.output


def test_the_service_model_is_fitted_versioned_and_served_to_those_who_may_open_the_record(  # type: ignore[no-untyped-def]
    fitted, run, db, client, make_staff
) -> None:
    """One test (the demo takes most of its time): fitting, then what a clinician is shown, then who is refused."""
    db.expire_all()
    models = db.scalars(select(SelectionModel)).all()
    assert len(models) == 1 and models[0].active and models[0].n_episodes > 100
    assert models[0].version in fitted and "finished episodes" in fitted
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "fit", AuditRecord.resource_type == "SelectionModel")
        )
        == 1
    )
    again = run("selection", "fit")
    assert again.exit_code == 0
    db.expire_all()
    assert [m.active for m in db.scalars(select(SelectionModel).order_by(SelectionModel.fitted_at))] == [False, True]
    # the table options belong to table mode
    assert run("selection", "fit", "--treatment", "pathway").exit_code == 2

    clin = make_staff("clin", "clinician", ("North Talking Therapies",))
    north = db.scalar(select(Team.id).where(Team.name == "North Talking Therapies"))
    people = db.scalars(
        select(Episode.person_id)
        .join(CaseloadAssignment, CaseloadAssignment.person_id == Episode.person_id)
        .where(CaseloadAssignment.team_id == north, Episode.discharge_date.is_(None))
        .limit(15)
    ).all()
    numbered_anywhere = courses_seen = 0
    for pid in people:
        r = client.get(f"/api/v1/people/{pid}/options", headers=clin.auth)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"]["episodes"] > 100 and body["limits"] and "Orthogonal" in body["method"]
        ids = [o["id"] for o in body["options"]]
        assert ids[0] == body["standard"] and len(ids) == len(set(ids))
        for o in body["options"]:
            assert ("expected" in o) != ("no_number" in o)
            assert o["appropriate"] == (not o["why_not"])
            if "expected" in o:
                numbered_anywhere += 1
                assert o["lower"] <= o["expected"] <= o["upper"] and o["support"] >= 30
                if o["id"] != body["model"]["reference"]:
                    assert o["advantage_lower"] <= o["advantage"] <= o["advantage_upper"]
                course = o["course"]
                assert course["weeks"][0] == 0 and set(course["measures"]) <= {"phq-9", "gad-7"}
                for m, c in course["measures"].items():
                    assert len(c["expected"]) == len(course["weeks"]) == len(c["lower"]) == len(c["upper"])
                    assert all(lo <= e <= hi for lo, e, hi in zip(c["lower"], c["expected"], c["upper"], strict=True))
                    assert c["lower"][0] == c["expected"][0] == c["upper"][0]  # week 0 is the intake score itself
                    assert course["episodes"][m] >= 20
                if "phq-9" in course["measures"]:
                    # the course ends at the option's expected end score
                    assert abs(course["measures"]["phq-9"]["expected"][-1] - o["expected"]) <= 1.0
                for chance in (o["recovery"], o["deterioration"]):
                    assert chance is None or 0 <= chance <= 1
                courses_seen += 1
    assert numbered_anywhere > 0  # a 400-person service supports numbers for its common options
    assert courses_seen == numbered_anywhere
    pid = people[0]
    audited = db.scalar(
        select(func.count())
        .select_from(AuditRecord)
        .where(AuditRecord.resource_type == "TreatmentOptions", AuditRecord.person_id == pid)
    )
    assert audited == 1  # each look is one audited read
    # not on the caseload, or a role that never sees a person: refused
    south = make_staff("south", "clinician", ("Community Mental Health Team",))
    assert client.get(f"/api/v1/people/{pid}/options", headers=south.auth).status_code == 403
    comm = make_staff("comm", "commissioner")
    assert client.get(f"/api/v1/people/{pid}/options", headers=comm.auth).status_code == 403
