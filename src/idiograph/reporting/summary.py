"""The service-level summary anyone with ``service:summary`` may see: aggregates only, suppressed."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.observations.model import Observation
from idiograph.patients.demographics import ETHNIC_CATEGORIES, age_band
from idiograph.patients.model import Episode, Person
from idiograph.reporting.disclosure import safe_count
from idiograph.reporting.outcomes import service_outcomes
from idiograph.security import audit
from idiograph.security.principal import Principal
from idiograph.security.roles import Permission


def service_summary(session: Session, principal: Principal) -> dict[str, Any]:
    principal.require(Permission.SERVICE_SUMMARY)
    people = session.scalar(select(func.count(Person.id))) or 0
    open_eps = session.scalar(select(func.count(Episode.id)).where(Episode.discharge_date.is_(None))) or 0
    reasons = dict(
        session.execute(
            select(Episode.discharge_reason, func.count(Episode.id))
            .where(Episode.discharge_date.is_not(None))
            .group_by(Episode.discharge_reason)
        ).all()
    )
    groups: dict[str, int] = {}
    for code, n in session.execute(select(Person.ethnicity, func.count(Person.id)).group_by(Person.ethnicity)):
        g = ETHNIC_CATEGORIES.get(code or "99", ("Not known", ""))[0]
        groups[g] = groups.get(g, 0) + n
    bands: dict[str, int] = {}
    today = date.today()
    for (bd,) in session.execute(select(Person.birth_date)):
        b = age_band(bd, today)
        bands[b] = bands.get(b, 0) + 1
    n_obs = session.scalar(select(func.count(Observation.id))) or 0
    finished, rates = service_outcomes(session)
    audit.append(session, principal.actor, "read", "ServiceSummary", None, None)
    return {
        "people": safe_count(people),
        "open_episodes": safe_count(open_eps),
        "discharges_by_reason": {
            k or "unknown": safe_count(v) for k, v in sorted(reasons.items(), key=lambda x: str(x[0]))
        },
        "people_by_ethnic_group": {k: safe_count(v) for k, v in sorted(groups.items())},
        "people_by_age_band": {k: safe_count(v) for k, v in sorted(bands.items())},
        "observations": safe_count(n_obs),
        "finished_courses": finished,
        "outcomes": [vars(r) for r in rates],
        "suppression": "counts 1-7 shown as *, others rounded to the nearest 5",
    }
