"""Each team's kind for reports (issue 19: each team kind is reported apart)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.reporting.kpis import Definitions, definitions
from idiograph.security.model import Team


def team_kinds(session: Session, defs: Definitions | None = None) -> dict[uuid.UUID, str]:
    """Each team's kind: what the team record says (``security.teams.KINDS``), else ``kpis.yaml``'s ``team_kinds``
    by name (for teams made before teams had a kind), else "unknown" (reported with the community teams, and said
    so in the notes)."""
    d = defs or definitions()
    rows = session.execute(select(Team.id, Team.name, Team.kind)).all()
    return {tid: kind or d.team_kinds.get(name, "unknown") for tid, name, kind in rows}
