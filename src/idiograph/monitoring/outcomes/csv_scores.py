"""Reading a spreadsheet of scores for ``idiograph outcomes`` (pure).

Columns: episode_id, date, phq9, gad7, and optionally attended (1/0, yes/no, true/false). Each row is one
contact. Without an ``attended`` column every row counts as an attended contact. Paired scores are the
rows with both PHQ-9 and GAD-7; outcomes use the first and last paired scores in date order."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from idiograph.errors import FieldProblem
from idiograph.monitoring.outcomes.nhs_talking_therapies import EpisodeOutcome, classify

REQUIRED = ("episode_id", "date", "phq9", "gad7")
TRUE = {"1", "yes", "y", "true", "t"}
FALSE = {"0", "no", "n", "false", "f", ""}


@dataclass
class EpisodeScores:
    episode_id: str
    contacts: list[tuple[date, int | None, int | None, bool]] = field(default_factory=list)

    def outcome(self) -> EpisodeOutcome:
        ordered = sorted(self.contacts, key=lambda c: c[0])
        paired = [(p, g) for _, p, g, _ in ordered if p is not None and g is not None]
        return classify(paired, sum(a for *_, a in ordered))


def _score(raw: str, name: str, top: int, where: str, problems: list[FieldProblem]) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        problems.append(FieldProblem(f"{where}/{name}", f"{raw!r} is not a whole number"))
        return None
    if not 0 <= value <= top:
        problems.append(FieldProblem(f"{where}/{name}", f"{value} is outside 0-{top}"))
        return None
    return value


def parse(text: str) -> tuple[list[EpisodeScores], list[FieldProblem]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [FieldProblem("header", f"missing column(s): {', '.join(missing)}")]
    reader.fieldnames = header
    has_attended = "attended" in header
    episodes: dict[str, EpisodeScores] = {}
    problems: list[FieldProblem] = []
    for n, row in enumerate(reader, start=2):
        where = f"line {n}"
        ep = (row.get("episode_id") or "").strip()
        if not ep:
            problems.append(FieldProblem(f"{where}/episode_id", "is empty"))
            continue
        try:
            when = date.fromisoformat((row.get("date") or "").strip()[:10])
        except ValueError:
            problems.append(FieldProblem(f"{where}/date", f"{row.get('date')!r} is not a date (YYYY-MM-DD)"))
            continue
        phq = _score(row.get("phq9") or "", "phq9", 27, where, problems)
        gad = _score(row.get("gad7") or "", "gad7", 21, where, problems)
        attended = True
        if has_attended:
            flag = (row.get("attended") or "").strip().lower()
            if flag not in TRUE | FALSE:
                problems.append(FieldProblem(f"{where}/attended", f"{flag!r} is not yes/no"))
                continue
            attended = flag in TRUE
        episodes.setdefault(ep, EpisodeScores(ep)).contacts.append((when, phq, gad, attended))
    return list(episodes.values()), problems
