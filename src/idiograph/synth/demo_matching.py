"""The demo's therapists (the synthetic service's clinicians, with what they offer and their free places), who each
loaded episode was allocated to, and which demo logins are therapists (so a clinician sees their own strengths).
Pure draws from each clinician's id: the generated data and their fingerprints stay the same."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idiograph.matching.model import Allocation, Therapist
from idiograph.patients.model import Episode
from idiograph.security.model import User
from idiograph.security.teams import team_by_name
from idiograph.synth.common import FAMILY, GIVEN_F
from idiograph.synth.generator import Service

WAITING_DAYS = 21  # open episodes among the window's last referrals wait for a therapist: none allocated yet
LOGINS = {  # demo login -> the team whose first clinician they are, their name and gender
    "clin.north": ("North Talking Therapies", "Dr Amara Okafor", "female"),
    "clin.south": ("South Talking Therapies", "Priya Raman", "female"),
}
TALKING = ("psychological_therapist", "psychological_therapist", "clinical_psychologist")  # who carries therapy
COMMUNITY = ("mental_health_nurse", "social_worker", "occupational_therapist", "mental_health_nurse")


def _draw(code: str, salt: str) -> int:
    return int(hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()[:8], 16)


def rename_logins(service: Service) -> None:
    """The first clinician of each login's team takes the login's name, and no two clinicians share a name (the
    generator's names repeat: an allocator would not know which "Ewa Green" is suggested). Their appointments show
    the new names too."""
    for team_name, name, _ in LOGINS.values():
        team = next(t for t in service.teams if t["name"] == team_name)
        first = next(c for c in service.clinicians if c.team_id == team["team_id"] and c.role == "clinician")
        first.name = name
    taken = {c.name for c in service.clinicians}
    seen: set[str] = set()
    for c in service.clinicians:
        if c.name in seen:
            given, start = c.name.split()[0], _draw(c.id, "family")
            names = (  # the next family name along, deterministically; then with a middle initial
                f"{given} {middle}{FAMILY[(start + k) % len(FAMILY)]}"
                for middle in ["", *(f"{chr(65 + i)}. " for i in range(26))]
                for k in range(len(FAMILY))
            )
            c.name = next((n for n in names if n not in taken), f"{given} {c.id}")
            taken.add(c.name)
        seen.add(c.name)


def write_therapists(session: Session, service: Service) -> dict[str, uuid.UUID]:
    """One therapist per clinician (idempotent by code); returns code -> therapist id."""
    kinds = {t["team_id"]: (t["name"], t["kind"]) for t in service.teams}
    users = {u.username: u.id for u in session.scalars(select(User).where(User.username.in_(list(LOGINS))))}
    firsts: dict[str, tuple[uuid.UUID | None, str]] = {}
    for login, (team_name, _, gender) in LOGINS.items():
        team = next(t for t in service.teams if t["name"] == team_name)
        first = next(c for c in service.clinicians if c.team_id == team["team_id"] and c.role == "clinician")
        firsts[first.id] = (users.get(login), gender)
    out = {}
    for c in service.clinicians:
        if c.role != "clinician":
            continue
        found = session.scalar(select(Therapist).where(Therapist.code == c.id))
        if found is None:
            team_name, kind = kinds[c.team_id]
            professions = COMMUNITY if kind == "cmht" else TALKING
            places = ["clinic", *(["remote"] if {"video", "phone"} & set(c.formats) else [])]
            if kind == "cmht" or _draw(c.id, "community") % 3 == 0:
                places.append("community" if kind != "cmht" else "home")
            found = Therapist(
                code=c.id,
                name=c.name,
                team_id=team_by_name(session, team_name, create=True).id,
                user_id=firsts[c.id][0] if c.id in firsts else None,
                profession=professions[_draw(c.id, "profession") % len(professions)],
                gender=firsts[c.id][1] if c.id in firsts else ("female" if c.name.split()[0] in GIVEN_F else "male"),
                languages=list(c.languages),
                formats=list(c.formats),
                places=places,
                capacity=c.capacity,
            )
            session.add(found)
            session.flush()
        out[c.id] = found.id
    return out


def waiting_from(start: date, days: int) -> date:
    """The first referral date of the demo's waiting list: the last WAITING_DAYS of the referral window."""
    return start + timedelta(days=days - WAITING_DAYS)


def waiting(referral: date, ended: bool, since: date | None) -> bool:
    return since is not None and not ended and referral >= since


def free_places(session: Session, service: Service) -> None:
    """Each therapist's free places now: their caseload capacity less the open episodes allocated to them."""
    open_eps = select(Episode.id).where(Episode.discharge_date.is_(None))
    held: dict[uuid.UUID, int] = {
        t: int(n)
        for t, n in session.execute(
            select(Allocation.therapist_id, func.count())
            .where(Allocation.current.is_(True), Allocation.episode_id.in_(open_eps))
            .group_by(Allocation.therapist_id)
        )
    }
    total = {c.id: c.capacity for c in service.clinicians}
    for t in session.scalars(select(Therapist).where(Therapist.code.in_(list(total)))):
        t.capacity = max(0, total[t.code] - held.get(t.id, 0))
    session.flush()
