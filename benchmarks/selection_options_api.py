"""One person's treatment options from the API: ``GET /api/v1/people/{id}/options`` on a demo service.

    .venv/bin/python benchmarks/selection_options_api.py                  # 2,000 people, SQLite
    .venv/bin/python benchmarks/selection_options_api.py --people 1000 --repeats 5

A fresh SQLite database gets the demo service (``idiograph demo``) and the service's options model
(``idiograph selection fit``). Then a clinician on the North team asks for the options of each of up to 100 of their
people, ``--repeats`` times each, in-process (FastAPI's TestClient: server time, no network). Beside it, the obvious
alternative: the same person's record summary (``GET /api/v1/people/{id}``), which every page already pays for.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Sequence

from demo_api import time_endpoints
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.patients.model import CaseloadAssignment


def _people(s: Session, north: uuid.UUID) -> Sequence[uuid.UUID]:
    return s.scalars(select(CaseloadAssignment.person_id).where(CaseloadAssignment.team_id == north).limit(100)).all()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    time_endpoints(
        people=args.people,
        repeats=args.repeats,
        extra_steps=(["selection", "fit"],),
        role="clinician",
        pick=_people,
        endpoints=[
            ("GET /api/v1/people/{id}/options", "/api/v1/people/{pid}/options"),
            ("GET /api/v1/people/{id} (record summary)", "/api/v1/people/{pid}"),
        ],
        title="One person's treatment options",
    )


if __name__ == "__main__":
    main()
