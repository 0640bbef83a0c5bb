"""``idiograph adaptive simulate`` and ``calibrate`` on small files: layouts, skipped rows, the output columns."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from idiograph.adaptive import banks
from idiograph.cli import app

COLUMNS = ["id", "items_asked", "asked", "decision", "estimate", "estimate_lower", "estimate_upper", "theta", "se"]


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_simulate_reads_the_nhanes_layout_and_skips_incomplete_rows(tmp_path: Path) -> None:
    src = tmp_path / "dpq.csv"
    header = ["SEQN", *banks.NHANES_COLUMNS, "DPQ100"]
    rows = [
        ["93705.0", *["0.0"] * 9, ""],  # all zeros: below
        ["93706.0", *["3.0"] * 9, "2.0"],  # all threes: above
        ["93707.0", "7.0", *["0.0"] * 8, ""],  # refused item 1: skipped
        ["93708.0", *["1.0"] * 8, "", ""],  # item 9 blank: skipped
        ["93709.0", *["9.0"] * 9, ""],  # don't know: skipped
    ]
    src.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    res = _run("adaptive", "simulate", "--instrument", "phq-9", "--responses", str(src), "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "skipped 3 rows" in res.output
    got = _rows(out)
    assert list(got[0]) == COLUMNS
    assert [r["id"] for r in got] == ["93705", "93706"]
    assert [r["decision"] for r in got] == ["below", "above"]
    for r in got:
        asked = r["asked"].split(";")
        assert asked[0] == "44260-8" and int(r["items_asked"]) == len(asked)
        assert float(r["estimate_lower"]) <= float(r["estimate"]) <= float(r["estimate_upper"])


def test_simulate_reads_item_code_columns_and_every_stop(tmp_path: Path) -> None:
    bank = banks.load_bank("phq-9")
    src = tmp_path / "loinc.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", *bank.codes])
        w.writerow(["p1", 1, 2, 1, 2, 1, 1, 0, 1, 1])
        w.writerow(["p2", 0, 0, 0, 1, 0, 0, 0, 0, 0])
    for stop, extra in (("classification", []), ("se", ["--se", "0.4"]), ("length", ["--max-items", "4"])):
        out = tmp_path / f"{stop}.csv"
        res = _run("adaptive", "simulate", "--responses", str(src), "--out", str(out), "--stop", stop, *extra)
        assert res.exit_code == 0, res.output
        got = _rows(out)
        assert [r["id"] for r in got] == ["p1", "p2"]
        if stop == "length":
            assert all(r["items_asked"] == "4" for r in got)
    out = tmp_path / "length5.csv"
    res = _run("adaptive", "simulate", "--responses", str(src), "--out", str(out), "--stop", "length")
    assert res.exit_code == 0 and all(r["items_asked"] == "5" for r in _rows(out))  # 5 without --max-items
    res = _run("adaptive", "simulate", "--responses", str(src), "--out", str(tmp_path / "x.csv"), "--stop", "fast")
    assert res.exit_code == 2


def test_simulate_refuses_a_file_without_the_items(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("id,a,b\n1,0,0\n", encoding="utf-8")
    res = _run("adaptive", "simulate", "--responses", str(src), "--out", str(tmp_path / "o.csv"))
    assert res.exit_code == 2


def test_gad7_is_said_to_be_provisional(tmp_path: Path) -> None:
    bank = banks.load_bank("gad-7")
    src = tmp_path / "gad.csv"
    src.write_text("id," + ",".join(bank.codes) + "\nq1," + ",".join(["1"] * 7) + "\n", encoding="utf-8")
    res = _run(
        "adaptive", "simulate", "--instrument", "gad-7", "--responses", str(src), "--out", str(tmp_path / "g.csv")
    )
    assert res.exit_code == 0, res.output
    assert "PROVISIONAL" in res.output


def test_calibrate_writes_a_loadable_bank(tmp_path: Path) -> None:
    # a small synthetic file from the shipped bank's own model: the fit must be a valid bank with provenance
    import numpy as np

    from idiograph.adaptive.grm import sample

    bank = banks.load_bank("phq-9")
    rng = np.random.default_rng(7)
    x = sample(list(bank.items), rng.standard_normal(400), rng)
    src = tmp_path / "dpq.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["SEQN", *banks.NHANES_COLUMNS])
        for i, row in enumerate(x):
            w.writerow([100000 + i, *row.tolist()])
    out = tmp_path / "bank.yaml"
    res = _run("adaptive", "calibrate", "--responses", str(src), "--out", str(out), "--split", "all")
    assert res.exit_code == 0, res.output
    import yaml

    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    loaded = banks.bank_from_data(data)
    assert loaded.codes == bank.codes and data["provenance"]["respondents"] == 400


def test_simulate_names_a_value_off_the_scale_instead_of_skipping_it(tmp_path: Path) -> None:
    """Found by a new user's trial: a 5 was counted as an incomplete row and the command succeeded; in the item-code
    layout a 7 (which has no 'refused' meaning there) was taken as missing."""
    src = tmp_path / "dpq.csv"
    header = ["SEQN", *banks.NHANES_COLUMNS]
    src.write_text(",".join(header) + "\n" + ",".join(["93705", "5", *["0"] * 8]) + "\n", encoding="utf-8")
    res = _run("adaptive", "simulate", "--responses", str(src), "--out", str(tmp_path / "o.csv"))
    assert res.exit_code == 2 and "line 2, DPQ010: 5 is not an answer (0 to 3)" in " ".join(res.output.split())
    bank = banks.load_bank("phq-9")
    loinc = tmp_path / "loinc.csv"
    loinc.write_text(",".join(["id", *bank.codes]) + "\n" + ",".join(["p1", "7", *["0"] * 8]) + "\n", encoding="utf-8")
    res = _run("adaptive", "simulate", "--responses", str(loinc), "--out", str(tmp_path / "o2.csv"))
    assert res.exit_code == 2 and "7 is not an answer" in " ".join(res.output.split())


def test_simulate_reads_sas_exported_zeros_as_calibrate_does(tmp_path: Path) -> None:
    """Found by review: NHANES files written by SAS hold 0 as 5.397605e-79; read_nhanes (calibrate, evaluate) read it
    as 0 while simulate refused it as off the scale."""
    src = tmp_path / "dpq.csv"
    header = ["SEQN", *banks.NHANES_COLUMNS]
    src.write_text(",".join(header) + "\n" + ",".join(["93705.0", *["5.397605e-79"] * 9]) + "\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    res = _run("adaptive", "simulate", "--responses", str(src), "--out", str(out))
    assert res.exit_code == 0, res.output
    row = out.read_text(encoding="utf-8").splitlines()[1].split(",")
    assert row[0] == "93705" and "below" in row
