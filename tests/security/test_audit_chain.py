from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from idiograph.security.audit_chain import GENESIS, ChainEntry, Head, legacy_hash, record_hash, verify_chain

KEY = b"a-key-kept-outside-the-database-0123"


def chain(n: int) -> list[ChainEntry]:
    out, prev = [], GENESIS
    for i in range(1, n + 1):
        fields = {"actor": f"user{i % 3}", "action": "read", "person_id": f"p{i}", "detail": {"i": i}}
        h = record_hash(KEY, prev, fields)
        out.append(ChainEntry(i, fields, prev, h))
        prev = h
    return out


def test_intact_chain_has_no_problems() -> None:
    c = chain(6)
    assert verify_chain(c, KEY, 6, c[-1].hash) == []
    assert verify_chain([], KEY, 0, GENESIS) == []


def test_edit_is_named() -> None:
    c = chain(6)
    c[2] = replace(c[2], fields={**c[2].fields, "actor": "someone-else"})
    problems = verify_chain(c, KEY, 6, c[-1].hash)
    assert [(p.seq, p.kind) for p in problems] == [(3, "edited")]


def test_deletion_in_the_middle_is_named() -> None:
    c = chain(6)
    del c[3]  # record 4
    problems = verify_chain(c, KEY, 6, c[-1].hash)
    assert (5, "missing") in [(p.seq, p.kind) for p in problems]
    assert "4" in problems[0].message


def test_reorder_is_named() -> None:
    c = chain(6)
    a, b = c[1], c[2]
    c[1], c[2] = replace(b, seq=2), replace(a, seq=3)  # swap the contents of records 2 and 3
    kinds = {(p.seq, p.kind) for p in verify_chain(c, KEY, 6, c[-1].hash)}
    assert (2, "reordered") in kinds and (3, "reordered") in kinds


def test_cut_tail_is_caught_by_the_head() -> None:
    c = chain(6)
    head_hash = c[-1].hash
    problems = verify_chain(c[:4], KEY, 6, head_hash)
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
    problems = verify_chain(c, KEY, n, c[-1].hash)
    assert any(p.seq == i + 1 and p.kind == "edited" for p in problems)


def test_the_hash_is_an_hmac_under_the_key_by_hand() -> None:
    import hashlib
    import hmac

    fields = {"action": "read"}
    want = hmac.new(KEY, ("0" * 64 + '\n{"action":"read"}').encode(), hashlib.sha256).hexdigest()
    assert record_hash(KEY, GENESIS, fields) == want
    assert record_hash(b"another-key-0000000000000000000000", GENESIS, fields) != want


def test_a_forged_record_with_a_recomputed_unkeyed_hash_is_caught() -> None:
    """Found: appending a record with a recomputed SHA-256 passed verification. Without the key it cannot."""
    c = chain(5)
    forged_fields = {"actor": "mallory", "action": "read", "person_id": "p9", "detail": {}}
    c.append(ChainEntry(6, forged_fields, c[-1].hash, legacy_hash(c[-1].hash, forged_fields)))
    problems = verify_chain(c, KEY, 6, c[-1].hash)
    assert [(p.seq, p.kind) for p in problems] == [(6, "edited")]


def test_an_edit_re_chained_without_the_key_is_caught() -> None:
    """Found: editing one record and recomputing every later hash passed. Re-chaining needs the key."""
    c = chain(6)
    edited = {**c[2].fields, "actor": "mallory"}
    prev = c[1].hash
    rechained = c[:2]
    for e in c[2:]:
        fields = edited if e.seq == 3 else e.fields
        h = legacy_hash(prev, fields)
        rechained.append(ChainEntry(e.seq, fields, prev, h))
        prev = h
    problems = verify_chain(rechained, KEY, 6, rechained[-1].hash)
    assert {p.kind for p in problems} == {"edited"} and {p.seq for p in problems} == {3, 4, 5, 6}


def test_a_cut_tail_with_the_head_row_set_back_is_caught_by_an_exported_head() -> None:
    """Found: deleting the last records and setting the head row back reported "intact"."""
    c = chain(8)
    exported = Head(8, c[-1].hash)
    cut = c[:5]
    assert verify_chain(cut, KEY, 5, cut[-1].hash) == []  # the head row was set back too: nothing inside shows it
    problems = verify_chain(cut, KEY, 5, cut[-1].hash, expect=exported)
    assert [(p.seq, p.kind) for p in problems] == [(8, "truncated")]
    assert verify_chain(c, KEY, 8, c[-1].hash, expect=exported) == []
    assert verify_chain(c, KEY, 8, c[-1].hash, expect=Head(3, c[2].hash)) == []  # an older head: still contained


def test_an_exported_head_that_no_longer_matches_is_named() -> None:
    c = chain(6)
    problems = verify_chain(c, KEY, 6, c[-1].hash, expect=Head(4, "f" * 64))
    assert [(p.seq, p.kind) for p in problems] == [(4, "head-mismatch")]


def test_heads_parse_as_printed() -> None:
    import pytest

    h = Head(12, "ab" * 32)
    assert Head.parse(str(h)) == h
    with pytest.raises(ValueError, match="SEQ:HASH"):
        Head.parse("12:nothex")
