"""Personalised intervention choice: appropriate alternatives when the standard is declined, by rules."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from idiograph.care import interventions as I
from idiograph.db import transaction
from idiograph.patients.model import Episode

R = I.rules()


def test_alternatives_follow_the_rules() -> None:
    # depression: the standard is group CBT; declining it offers one-to-one options in the rules' order
    assert [o.id for o in I.alternatives(R, "depression", "low", {"group_cbt"})] == [
        "cbt",
        "guided_self_help",
        "counselling",
        "medication_review",
    ]
    # at high risk only what is offered at high risk remains
    assert [o.id for o in I.alternatives(R, "depression", "high", {"group_cbt"})] == ["cbt", "medication_review"]
    # counselling is for depression, not panic
    assert "counselling" not in [o.id for o in I.alternatives(R, "panic", "low", {"cbt"})]
    assert I.appropriate(R, "counselling", "panic", "low") == [
        "Counselling for depression is for depression, mixed anxiety depression"
    ]
    # declining "group" rules out every group format
    assert not any(R.interventions[o.id].group for o in I.alternatives(R, "panic", "low", {"group"}))


def test_choosing_an_alternative_is_a_decision_under_the_policy(client, db, make_staff) -> None:  # type: ignore[no-untyped-def]
    clin = make_staff("clin", "clinician", ("North",))
    cc = make_staff("ccoord", "care_coordinator", ("North",))
    pid = client.post(
        "/api/v1/people", json={"given_name": "Ada", "family_name": "B", "sex": "female"}, headers=clin.auth
    ).json()["id"]
    with transaction(db):
        db.add(
            Episode(
                person_id=uuid.UUID(pid),
                referral_date=date.today(),
                referral_source="gp",
                presenting_problem="depression",
                pathway="group_cbt",
            )
        )
    offer = client.get(f"/api/v1/people/{pid}/interventions", headers=clin.auth).json()
    assert offer["current"] == "group_cbt" and offer["standard"] == "group_cbt"
    assert offer["alternatives"][0]["id"] == "cbt"
    # a care coordinator may not change the intervention: escalated
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"intervention": "cbt", "declined": "group_cbt", "rationale": "Declined group: social anxiety"},
        headers=cc.auth,
    )
    assert r.status_code == 201 and r.json()["status"] == "pending"
    # a clinician may: applied, with the declined option in the summary
    r = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"intervention": "cbt", "declined": "group_cbt", "rationale": "Declined group: social anxiety"},
        headers=clin.auth,
    )
    d = r.json()
    assert (
        d["status"] == "applied"
        and "Group CBT to Individual CBT" in d["summary"]
        and "declined Group CBT" in d["summary"]
    )
    ep = db.scalar(select(Episode).where(Episode.person_id == uuid.UUID(pid)))
    db.refresh(ep)
    assert ep.pathway == "cbt"
    # an inappropriate choice is refused with the reason
    client.post(
        f"/api/v1/people/{pid}/risk-assessments",
        json={"level": "high", "summary": "Plans disclosed"},
        headers=clin.auth,
    )
    bad = client.post(
        f"/api/v1/people/{pid}/changes",
        json={"intervention": "guided_self_help", "rationale": "Prefers reading"},
        headers=clin.auth,
    )
    assert bad.status_code == 422 and "not offered at high risk" in bad.text
