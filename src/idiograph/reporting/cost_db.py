"""Cost per finished course and per recovered case by pathway, from the database (issue 19; read-only).

What is read: each episode's pathway; its attended appointments (assigned to episodes as the KPI report assigns
them, ``referrals_db._Episodes.open_on``) with the profession of the clinician -- the appointment's ``with_whom``
matched to a ``Therapist`` by code or name, else the therapist the episode was allocated to, else ``other``;
admissions as the KPI report counts them; finished and recovered from the KPI engine (``kpis.outcome``). The
referrals are those that ended in the period. Counts of 1 to 7 are withheld (NHS England's rule, as the rest of
the report) and so is a cost divided by one: the row keeps its pathway with ``withheld`` naming what was."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.care.model import Appointment
from idiograph.matching.model import Allocation, Therapist
from idiograph.patients.model import Episode
from idiograph.reporting.cost import CostReferral, UnitCosts, by_pathway, document, load_unit_costs
from idiograph.reporting.kpis import Referral, definitions, outcome
from idiograph.reporting.referrals_db import _day, _Episodes, referrals_from_db
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission

SMALL = range(1, 8)


def cost_table(
    session: Session, start: date, end: date, referrals: Sequence[Referral] | None = None
) -> list[CostReferral]:
    """The referrals that ended in ``start``..``end`` with their contacts by profession; ``referrals`` is the
    referral table when the caller has already read it (one read per page). Person-level: the caller checks
    permission and audits (``cost_section`` does both)."""
    d = definitions()
    table = {r.referral_id: r for r in (referrals if referrals is not None else referrals_from_db(session, d))}
    episodes = session.execute(
        select(Episode.id, Episode.person_id, Episode.referral_date, Episode.discharge_date, Episode.pathway)
    ).all()
    by_person: dict[uuid.UUID, list[tuple[uuid.UUID, date, date | None]]] = defaultdict(list)
    for e in episodes:
        by_person[e.person_id].append((e.id, e.referral_date, e.discharge_date))
    finder = {p: _Episodes(rows) for p, rows in by_person.items()}
    therapists = session.execute(select(Therapist.id, Therapist.code, Therapist.name, Therapist.profession)).all()
    named: dict[str, str | None] = {t.name: t.profession for t in therapists} | {
        t.code: t.profession for t in therapists
    }
    own = {t.id: t.profession for t in therapists}
    allocated: dict[uuid.UUID, str | None] = {
        eid: own.get(tid) for eid, tid in session.execute(select(Allocation.episode_id, Allocation.therapist_id))
    }
    contacts: dict[uuid.UUID, Counter[str | None]] = defaultdict(Counter)
    for pid, at, whom in session.execute(
        select(Appointment.person_id, Appointment.start, Appointment.with_whom).where(Appointment.status == "attended")
    ):
        eid = finder[pid].open_on(_day(at)) if pid in finder else None
        if eid is not None:
            prof = named[whom] if whom in named else allocated.get(eid)
            contacts[eid][prof] += 1
    out = []
    for e in episodes:
        if e.discharge_date is None or not start <= e.discharge_date <= end:
            continue
        r = table[str(e.id)]
        o = outcome(r, d)
        out.append(
            CostReferral(
                pathway=e.pathway,
                contacts=dict(contacts.get(e.id, {})),
                admissions=len(r.admissions),
                finished=bool(o.finished),
                recovered=bool(o.finished and o.recovered),
            )
        )
    return out


def protect(section: dict[str, Any]) -> dict[str, Any]:
    """Withhold counts of 1 to 7 and any cost divided by a withheld count (the cost total of a pathway with a
    withheld count is withheld too, since with the per-unit cost it would give the count back)."""
    rows = []
    for row in section["pathways"]:
        row = dict(row)
        withheld = [k for k in ("referrals", "contacts", "admissions", "finished", "recovered") if row[k] in SMALL]
        for k in withheld:
            row[k] = None
        if "finished" in withheld or "referrals" in withheld:
            row["per_finished"] = None
        if "recovered" in withheld or "finished" in withheld or "referrals" in withheld:
            row["per_recovered"] = None
        if withheld:
            row["cost"] = None
        row["withheld"] = withheld
        rows.append(row)
    return {**section, "pathways": rows}


def cost_section(
    session: Session, principal: Principal, start: date, end: date, units: UnitCosts | None = None
) -> dict[str, Any]:
    """The KPI document's ``cost`` section for anyone with ``service:summary``; one aggregate audit record."""
    principal.require(Permission.SERVICE_SUMMARY)
    u = units or load_unit_costs()
    table = cost_table(session, start, end)
    section = protect(document(by_pathway(table, u), u))
    audit.append(
        session,
        principal.actor,
        "read",
        "CostReport",
        None,
        None,
        detail={"from": start.isoformat(), "to": end.isoformat(), "referrals": len(table)},
    )
    return section
