from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from idiograph.security.audit_chain import GENESIS, ChainEntry, record_hash, verify_chain


def chain(n: int) -> list[ChainEntry]:
    out, prev = [], GENESIS
    for i in range(1, n + 1):
        fields = {"actor": f"user{i % 3}", "action": "read", "person_id": f"p{i}", "detail": {"i": i}}
        h = record_hash(prev, fields)
        out.append(ChainEntry(i, fields, prev, h))
        prev = h
    return out


def test_intact_chain_has_no_problems() -> None:
    c = chain(6)
    assert verify_chain(c, 6, c[-1].hash) == []
    assert verify_chain([], 0, GENESIS) == []


def test_edit_is_named() -> None:
    c = chain(6)
    c[2] = replace(c[2], fields={**c[2].fields, "actor": "someone-else"})
    problems = verify_chain(c, 6, c[-1].hash)
    assert [(p.seq, p.kind) for p in problems] == [(3, "edited")]


def test_deletion_in_the_middle_is_named() -> None:
    c = chain(6)
    del c[3]  # record 4
    problems = verify_chain(c, 6, c[-1].hash)
    assert (5, "missing") in [(p.seq, p.kind) for p in problems]
    assert "4" in problems[0].message


def test_reorder_is_named() -> None:
    c = chain(6)
    a, b = c[1], c[2]
    c[1], c[2] = replace(b, seq=2), replace(a, seq=3)  # swap the contents of records 2 and 3
    kinds = {(p.seq, p.kind) for p in verify_chain(c, 6, c[-1].hash)}
    assert (2, "reordered") in kinds and (3, "reordered") in kinds


def test_cut_tail_is_caught_by_the_head() -> None:
    c = chain(6)
    head_hash = c[-1].hash
    problems = verify_chain(c[:4], 6, head_hash)
    assert [(p.seq, p.kind) for p in problems] == [(6, "missing")]
    assert "5-6" in problems[0].message


@given(st.integers(1, 12), st.data())
def test_any_single_field_edit_is_detected(n: int, data: st.DataObject) -> None:
    c = chain(n)
    i = data.draw(st.integers(0, n - 1))
    key = data.draw(st.sampled_from(["actor", "action", "person_id"]))
    new = data.draw(st.text(min_size=1, max_size=8))
    if new == c[i].fields[key]:
        return
    c[i] = replace(c[i], fields={**c[i].fields, key: new})
    problems = verify_chain(c, n, c[-1].hash)
    assert any(p.seq == i + 1 and p.kind == "edited" for p in problems)
