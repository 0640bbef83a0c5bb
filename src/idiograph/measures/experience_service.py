"""Use cases for the experience-of-choice forms (issue 19): the person answers through a single-use self-report
link (made by ``measures.service.create_link`` with mode "experience"); the answers are stored whole with their
audit record, or not at all. Reports read them as aggregates only (``reporting.experience_db``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.db import utcnow
from idiograph.errors import FieldProblem, InvalidInput, invalid
from idiograph.measures.experience import Form, check, forms
from idiograph.measures.model import ExperienceResponse
from idiograph.measures.service import experience_form, live_link, spend_link
from idiograph.security import audit
from idiograph.security.audit import Actor


@dataclass(frozen=True)
class Asked:
    """An open experience link: its form and the options of each question."""

    link_id: uuid.UUID
    form: Form


def open_form(session: Session, token: str) -> Asked:
    """The form an unused, in-date experience link asks."""
    link = live_link(session, token)
    if link.mode != "experience":
        raise invalid("mode", "this link asks a questionnaire, not about the person's experience of choice")
    return Asked(link.id, experience_form(link.instrument))


def _checked(form: Form, answers: Mapping[str, str | None]) -> dict[str, str]:
    problems = [FieldProblem(field, reason) for field, reason in check(form, answers)]
    if problems:
        raise InvalidInput(f"the answers to {form.id} cannot be stored", problems)
    return {code: value for code, value in answers.items() if value is not None}


def submit(session: Session, token: str, answers: Mapping[str, str | None]) -> ExperienceResponse:
    """Store the person's answers and spend the link, atomically: a second submission is refused even when two
    arrive at once (the conditional update lets exactly one through). The caller rolls back on an error, so a
    refused form keeps neither the answers nor the spent link."""
    now = utcnow()
    link = spend_link(session, token, now, mode="experience")
    form = experience_form(link.instrument)
    kept = _checked(form, answers)
    response = ExperienceResponse(
        person_id=link.person_id,
        episode_id=link.episode_id,
        link_id=link.id,
        form=form.id,
        version=forms().version,
        answers=kept,
        authored_at=now,
    )
    session.add(response)
    session.flush()
    link.response_id = response.id
    actor = Actor(None, f"self-report:{link.id}", "person")
    audit.append(
        session, actor, "write", "ExperienceResponse", str(response.id), link.person_id, detail={"form": form.id}
    )
    return response


def answered_between(session: Session, start: datetime, end: datetime) -> list[ExperienceResponse]:
    """Every experience response authored in [start, end). For aggregate reports only: the caller audits the
    read (``reporting.experience_db``)."""
    stmt = select(ExperienceResponse).where(
        ExperienceResponse.authored_at >= start, ExperienceResponse.authored_at < end
    )
    return list(session.scalars(stmt.order_by(ExperienceResponse.authored_at)))
