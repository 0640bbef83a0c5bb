"""Page routes by area, listed here in one place for the app to include."""

from __future__ import annotations

from fastapi import APIRouter

from idiograph.web.pages import (
    accounts,
    alerts,
    allocation,
    audit,
    auth,
    care,
    caseload,
    crisis,
    governance,
    intake,
    operations,
    person,
    questionnaires,
    reports,
    reviews,
    summary,
)

ROUTERS: tuple[APIRouter, ...] = tuple(
    m.router
    for m in (
        auth,
        accounts,
        caseload,
        person,
        intake,
        reviews,
        alerts,
        care,
        governance,
        allocation,
        crisis,
        questionnaires,
        audit,
        summary,
        reports,
        operations,
    )
)
