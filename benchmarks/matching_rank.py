"""Ranking therapists for one referral: ``GET /api/v1/people/{id}/matches`` on a demo service (target < 50 ms).

    .venv/bin/python benchmarks/matching_rank.py                  # 2,000 people, SQLite
    .venv/bin/python benchmarks/matching_rank.py --people 1000 --repeats 5

A fresh SQLite database gets the demo service (``idiograph demo``: its therapists, their strengths and a waiting
list). Then a senior clinician on the North team asks for the suitable therapists of up to 100 people with an open
episode there, ``--repeats`` times each, in-process (FastAPI's TestClient: server time, no network). Beside it, the
obvious alternative: the same person's record summary (``GET /api/v1/people/{id}``), which every page pays for.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Sequence

from demo_api import time_endpoints
from sqlalchemy import select
from sqlalchemy.orm import Session

from idiograph.patients.model import Episode


def _people(s: Session, north: uuid.UUID) -> Sequence[uuid.UUID]:
    return s.scalars(
        select(Episode.person_id).where(Episode.team_id == north, Episode.discharge_date.is_(None)).limit(100)
    ).all()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    time_endpoints(
        people=args.people,
        repeats=args.repeats,
        extra_steps=(),
        role="senior_clinician",
        pick=_people,
        endpoints=[
            ("GET /api/v1/people/{id}/matches", "/api/v1/people/{pid}/matches"),
            ("GET /api/v1/people/{id} (record summary)", "/api/v1/people/{pid}"),
        ],
        title="One referral's ranked therapists",
    )


if __name__ == "__main__":
    main()
