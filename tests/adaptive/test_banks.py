"""Shipped adaptive item banks: valid against the instruments, provenance present, the PHQ-9 bank reproducible."""

from __future__ import annotations

from pathlib import Path

import pytest

from idiograph.adaptive import banks
from idiograph.instruments.definitions import instruments

NHANES = Path(__file__).resolve().parents[3] / "shared" / "data" / "nhanes" / "DPQ_J.csv"


def test_phq9_bank_matches_the_instrument_and_asks_item_9_always() -> None:
    bank = banks.load_bank("phq-9")
    assert bank.codes == tuple(i.code for i in instruments()["phq-9"].items)
    assert bank.always == ("44260-8",) and not bank.provisional
    prov = banks.provenance("phq-9")
    for key in ("source", "split", "respondents", "log_likelihood", "date", "code_version"):
        assert key in prov
    assert "EVEN SEQN" in prov["split"]
    rule = banks.default_rule("phq-9")
    assert rule.stop == "classification" and rule.cut == 10 and 0.5 < rule.confidence < 1


def test_gad7_bank_is_marked_provisional() -> None:
    bank = banks.load_bank("gad-7")
    assert bank.provisional and bank.codes == tuple(i.code for i in instruments()["gad-7"].items)
    assert "PROVISIONAL" in banks.provenance("gad-7")["status"]


def test_an_unknown_instrument_and_a_bad_bank_are_refused() -> None:
    with pytest.raises(KeyError, match="no adaptive item bank"):
        banks.load_bank("core-10")
    good = banks._data("phq-9")
    with pytest.raises(ValueError, match="safety item"):
        banks.bank_from_data({**good, "always": []})
    with pytest.raises(ValueError, match="must come first"):  # found by review: nothing kept item 9 first
        banks.bank_from_data({**good, "always": [good["items"][0]["code"], "44260-8"]})
    disordered = [dict(i) for i in good["items"]]
    disordered[0] = {**disordered[0], "b": [1.0, 0.5, 2.0]}
    with pytest.raises(ValueError, match="ordered"):
        banks.bank_from_data({**good, "items": disordered})
    with pytest.raises(ValueError, match="not the phq-9 items"):
        banks.bank_from_data({**good, "items": good["items"][:8]})


@pytest.mark.skipif(not NHANES.exists(), reason="shared NHANES file not present")
def test_the_shipped_phq9_bank_is_reproduced_from_nhanes_even_seqn() -> None:
    fitted = banks.calibrate_phq9(NHANES, "even")
    shipped = banks._data("phq-9")
    assert fitted["provenance"]["respondents"] == shipped["provenance"]["respondents"]
    assert fitted["provenance"]["log_likelihood"] == pytest.approx(shipped["provenance"]["log_likelihood"], abs=0.01)
    for a, b in zip(fitted["items"], shipped["items"], strict=True):
        assert a["code"] == b["code"]
        assert a["a"] == pytest.approx(b["a"], abs=2e-4)
        assert a["b"] == pytest.approx(b["b"], abs=2e-4)
