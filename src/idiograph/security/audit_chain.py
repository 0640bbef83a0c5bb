"""Keyed hash chain over audit records (pure logic, no I/O).

Each record's hash is an HMAC-SHA256, under a key kept outside the database, of its fields and the previous
record's hash. Without the key nobody can write a record that verifies, so an edited, deleted, reordered or
forged record, or an edit followed by re-chaining the rest, breaks the chain at a named place. A cut-off tail
(the last records deleted and the head row set back) is caught by a head exported earlier and kept elsewhere
(``expect``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(key: bytes, prev_hash: str, fields: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (RFC 2104) of the previous hash and the record's canonical fields."""
    return hmac.new(key, (prev_hash + "\n" + canonical(fields)).encode("utf-8"), hashlib.sha256).hexdigest()


def legacy_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The unkeyed SHA-256 chain of releases before 2026-12 (read once, by the migration that re-keys it)."""
    return hashlib.sha256((prev_hash + "\n" + canonical(fields)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Head:
    """A point on the chain: record ``seq`` has hash ``hash`` (``seq`` 0 is the empty chain)."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        seq, sep, digest = text.strip().partition(":")
        if not sep or not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError("a head is SEQ:HASH, e.g. 1234:3f0c... (64 hex digits), as `idiograph audit head` prints")
        return cls(int(seq), digest)


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    fields: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # edited | missing | reordered | head-mismatch | truncated
    message: str


def verify_chain(
    entries: Iterable[ChainEntry],
    key: bytes,
    head_seq: int | None = None,
    head_hash: str | None = None,
    expect: Head | None = None,
) -> list[ChainProblem]:
    """Every break in the chain, naming the record; ``head_*`` (the head row) catch a cut tail when the row was
    left alone, ``expect`` (a head exported earlier) when it was not."""
    problems: list[ChainProblem] = []
    expected_prev = GENESIS
    expected_seq = 1
    last_seq, last_hash = 0, GENESIS
    seen_expected = expect is None or expect.seq == 0
    for e in entries:
        if e.seq != expected_seq:
            if e.seq > expected_seq:
                missing = f"{expected_seq}" if e.seq == expected_seq + 1 else f"{expected_seq}-{e.seq - 1}"
                problems.append(ChainProblem(e.seq, "missing", f"record(s) {missing} deleted before {e.seq}"))
            else:
                problems.append(ChainProblem(e.seq, "reordered", f"record {e.seq} out of sequence"))
        if not hmac.compare_digest(record_hash(key, e.prev_hash, e.fields), e.hash):
            problems.append(ChainProblem(e.seq, "edited", f"record {e.seq} does not match its keyed hash"))
        elif e.prev_hash != expected_prev and e.seq == expected_seq:
            problems.append(ChainProblem(e.seq, "reordered", f"record {e.seq} does not follow record {e.seq - 1}"))
        if expect is not None and e.seq == expect.seq:
            seen_expected = True
            if e.hash != expect.hash:
                problems.append(
                    ChainProblem(
                        e.seq, "head-mismatch", f"record {e.seq} is not the one exported as the head ({expect})"
                    )
                )
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
    if expect is not None and not seen_expected:
        problems.append(
            ChainProblem(
                expect.seq,
                "truncated",
                f"the trail ends at record {last_seq}, before the head exported earlier ({expect.seq}): "
                "records were cut from the end",
            )
        )
    return problems
