"""Hash chain over audit records: each record's hash covers its fields and the previous hash, so an
edited, deleted or reordered record breaks the chain at a named place (pure logic, no I/O)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical(fields)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    fields: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # edited | missing | reordered | head-mismatch
    message: str


def verify_chain(
    entries: Iterable[ChainEntry], head_seq: int | None = None, head_hash: str | None = None
) -> list[ChainProblem]:
    """Every break in the chain, naming the record; ``head_*`` (kept apart) catch a cut-off tail."""
    problems: list[ChainProblem] = []
    expected_prev = GENESIS
    expected_seq = 1
    last_seq, last_hash = 0, GENESIS
    for e in entries:
        if e.seq != expected_seq:
            if e.seq > expected_seq:
                missing = f"{expected_seq}" if e.seq == expected_seq + 1 else f"{expected_seq}-{e.seq - 1}"
                problems.append(ChainProblem(e.seq, "missing", f"record(s) {missing} deleted before {e.seq}"))
            else:
                problems.append(ChainProblem(e.seq, "reordered", f"record {e.seq} out of sequence"))
        if record_hash(e.prev_hash, e.fields) != e.hash:
            problems.append(ChainProblem(e.seq, "edited", f"record {e.seq} content does not match its hash"))
        elif e.prev_hash != expected_prev and e.seq == expected_seq:
            problems.append(ChainProblem(e.seq, "reordered", f"record {e.seq} does not follow record {e.seq - 1}"))
        expected_prev = e.hash
        expected_seq = e.seq + 1
        last_seq, last_hash = e.seq, e.hash
    if head_seq is not None and (head_seq != last_seq or (head_hash is not None and head_hash != last_hash)):
        if head_seq > last_seq:
            problems.append(
                ChainProblem(head_seq, "missing", f"records {last_seq + 1}-{head_seq} deleted from the end")
            )
        else:
            problems.append(ChainProblem(last_seq, "head-mismatch", "chain head does not match last record"))
    return problems
