"""Item-level PHQ-9 and GAD-7 answers at every contact, drawn from the graded response model."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from idiograph.adaptive.grm import sample
from idiograph.instruments.definitions import instruments
from idiograph.synth.common import Generated, Ids, dt64, item_banks, observe, uid
from idiograph.synth.person.course import Contact


@lru_cache(maxsize=1)
def item_codes() -> tuple[list[str], list[str]]:
    """The PHQ-9 and GAD-7 item codes, in order (read once: the definitions are parsed from YAML)."""
    defs = instruments()
    return [i.code for i in defs["phq-9"].items], [i.code for i in defs["gad-7"].items]


def answers(
    contacts: list[Contact], risk: float, rng: np.random.Generator
) -> tuple[NDArray[np.int8], NDArray[np.int8]]:
    """PHQ-9 answers (item 9 also driven by the risk trait) and GAD-7 answers, one row per contact."""
    phq_items, gad_items = item_banks()
    th_d = np.array([r[1] for r in contacts])
    th_a = np.array([r[2] for r in contacts])
    phq = sample(phq_items[:8], th_d, rng)
    item9 = sample(phq_items[8:], th_d + risk, rng)
    gad = sample(gad_items, th_a, rng)
    return np.hstack([phq, item9]), gad


def record_instrument(
    g: Generated,
    ids: Ids,
    contacts: list[Contact],
    inst: str,
    codes: list[str],
    given: NDArray[np.int8],
    total_code: str,
) -> None:
    """One instrument's responses (with totals) and their item and total observations."""
    times = np.array([dt64(r[0]) for r in contacts])
    rids = [uid(ids.seed, "response", ids.index, inst, r[3]) for r in contacts]
    totals = given.sum(axis=1)
    for k, (t, _, _, ref) in enumerate(contacts):
        g.add(
            "responses",
            {
                "response_id": rids[k],
                "person_id": ids.person,
                "episode_id": ids.episode,
                "instrument": inst,
                "authored": t,
                "total": int(totals[k]),
                "appointment_ref": ref,
            },
        )
    width = len(codes) + 1
    values = np.hstack([given, totals[:, None]]).ravel()
    kinds = (["questionnaire-item"] * len(codes) + ["questionnaire-total"]) * len(contacts)
    rows = [r for r in rids for _ in range(width)]
    observe(
        g,
        ids.person,
        ids.episode,
        rows,
        [*codes, total_code] * len(contacts),
        values,
        "{score}",
        np.repeat(times, width),
        kinds,
    )


def record_questionnaires(
    g: Generated, ids: Ids, contacts: list[Contact], risk: float, rng: np.random.Generator
) -> None:
    """PHQ-9 and GAD-7 at every attended session and follow-up contact, in that order."""
    if not contacts:
        return
    phq_codes, gad_codes = item_codes()
    phq, gad = answers(contacts, risk, rng)
    record_instrument(g, ids, contacts, "phq-9", phq_codes, phq, "44261-6")
    record_instrument(g, ids, contacts, "gad-7", gad_codes, gad, "70274-6")
