"""``idiograph selection fit`` and ``predict`` on a data team's table: the columns are the issue's contract, rows
stay in input order, and every wrong option is named."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from idiograph.cli import app
from tests.selection.simulated import episodes


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Finished episodes as CSV (with an id, a missing outcome and empty cells) and new people as Parquet."""
    folder = tmp_path_factory.mktemp("selection")
    train = episodes(900, seed=21)
    path = folder / "episodes.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["episode", "received", "phq9_end", *train.data])
        for i in range(900):
            row = [train.data[k][i] for k in train.data]
            row = ["" if isinstance(v, float) and np.isnan(v) else v for v in row]
            end = "" if i == 5 else round(float(train.outcome[i]), 2)
            w.writerow([f"ep-{i}", train.received[i], end, *row])
    new = episodes(30, seed=22)
    people = folder / "people.parquet"
    pq.write_table(pa.table({"person": [f"p{i}" for i in range(30)], **new.data}), people)
    return path, people


def test_fit_then_predict_writes_the_contracted_columns_in_input_order(tables, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    episodes_csv, people = tables
    model = tmp_path / "model.json"
    r = invoke(
        "selection", "fit", str(episodes_csv), "--treatment", "received", "--outcome", "phq9_end",
        "--id", "episode", "--reference", "cbt", "--lower-is-better", "--out", str(model),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "899 episodes, 5 covariates" in r.output and "1 row(s) without an option or an outcome" in r.output
    out = tmp_path / "pred.parquet"
    r = invoke("selection", "predict", str(model), str(people), "--id", "person", "--out", str(out))
    assert r.exit_code == 0, r.output
    pred = pq.read_table(out)
    expected = ["person"]
    for o in ("cbt", "counselling", "gsh"):
        expected += [f"outcome_{o}", f"outcome_{o}_lower", f"outcome_{o}_upper"]
    for o in ("counselling", "gsh"):
        expected += [f"effect_{o}", f"effect_{o}_lower", f"effect_{o}_upper"]
    assert pred.column_names == [*expected, "recommended"]
    assert pred.column("person").to_pylist() == [f"p{i}" for i in range(30)]
    rows = pred.to_pylist()
    empty = 0
    for row in rows:
        shown = [o for o in ("cbt", "counselling", "gsh") if row[f"outcome_{o}"] is not None]
        empty += 3 - len(shown)
        for o in shown:
            assert row[f"outcome_{o}_lower"] <= row[f"outcome_{o}"] <= row[f"outcome_{o}_upper"]
        for o in ("counselling", "gsh"):
            if o in shown and "cbt" in shown:
                assert row[f"effect_{o}"] == pytest.approx(row[f"outcome_{o}"] - row["outcome_cbt"])
            else:  # no number without enough similar episodes under the option and the reference
                assert row[f"effect_{o}"] is None and row[f"effect_{o}_lower"] is None
        assert row["recommended"] == (min(shown, key=lambda o: row[f"outcome_{o}"]) if shown else None)
    assert empty < len(rows)  # most options have numbers on this table
    if empty:
        assert "left empty" in r.output
    # without --id: a 0-based row number; CSV out
    out_csv = tmp_path / "pred.csv"
    assert invoke("selection", "predict", str(model), str(people), "--out", str(out_csv)).exit_code == 0
    with out_csv.open() as f:
        first = next(csv.reader(f))
        assert first[0] == "row" and first[-1] == "recommended"
        assert [line.split(",")[0] for line in f.read().splitlines()] == [str(i) for i in range(30)]


def test_covariates_can_be_chosen_and_wrong_options_are_named(tables, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    episodes_csv, people = tables
    model = tmp_path / "m.json"
    base = ["selection", "fit", str(episodes_csv), "--treatment", "received", "--outcome", "phq9_end"]
    r = invoke(*base, "--covariates", "severity,group", "--id", "episode", "--out", str(model))
    assert r.exit_code == 0 and "2 covariates" in r.output, r.output
    for extra, named in (
        (["--treatment", "arm"], "--treatment: 'arm' is not a column"),
        (["--covariates", "severity,colour"], "--covariates: not columns of episodes.csv: colour"),
        (["--covariates", "severity,phq9_end"], "phq9_end cannot be a covariate"),
        (["--reference", "dance"], "reference 'dance' is not one of the options"),
        (["--coverage", "1.5"], "--coverage"),
    ):
        r = invoke(*base, *extra, "--out", str(tmp_path / "x.json"))
        assert r.exit_code != 0 and named in r.output, (extra, r.output)
    assert not (tmp_path / "x.json").exists()
    r = invoke("selection", "fit", str(tmp_path / "none.csv"), "--treatment", "a", "--outcome", "b", "--out", "m")
    assert r.exit_code == 2 and "no such file" in r.output
    r = invoke("selection", "predict", str(model), str(people), "--out", str(tmp_path / "p.txt"))
    assert r.exit_code == 2 and "--out" in r.output
    pq.write_table(pa.table({"severity": ["high"] * 3, "group": ["a"] * 3}), tmp_path / "words.parquet")
    r = invoke("selection", "predict", str(model), str(tmp_path / "words.parquet"), "--out", str(tmp_path / "p.csv"))
    assert r.exit_code == 2 and "severity" in r.output and "not numbers" in r.output


def test_evaluate_judges_on_held_out_people_with_intervals_and_suppression(tmp_path: Path) -> None:
    import json

    r = invoke("selection", "evaluate", "--people", "1500", "--seed", "5", "--format", "json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.output[r.output.index("{") :])
    # 1,500 people leave the community team too few episodes of one option: said, not judged
    assert body["seed"] == 5 and set(body["kinds"]) == {"talking_therapies"}
    assert "fewer than 20 episodes" in body["skipped"]["cmht"]
    first = body["policy"][0]
    d0 = first["recommended_minus_single_best"]
    plain = body["notes"][0]
    assert plain.startswith("Plainly: following the recommendation was ")
    assert ("worse than giving everyone" in plain) == (d0["high"] < 0)  # said as the interval says it
    assert (first["dimension"], first["group"]) == ("all", "all")
    d = first["recommended_minus_single_best"]
    assert d["low"] <= d["mean"] <= d["high"]
    assert first["oracle"] >= max(first["recommended"], first["received"], first["single_best"])
    assert 0.5 < first["outcome_coverage"]["rate"] <= 1
    # a group of fewer than 10 people shows nothing but its name
    small = [p for p in body["policy"] if p.get("suppressed")]
    assert small and all(set(p) == {"dimension", "group", "suppressed"} for p in small)
    # each option's course band against held-out scores, and the chances against what happened
    assert {(c["measure"], c["weeks"]) for c in body["courses"]} >= {("phq-9", "1-4"), ("gad-7", "5-8")}
    assert all(0.5 < c["band_coverage"]["rate"] <= 1 and c["median_width"] > 0 for c in body["courses"])
    chances = {c["outcome"]: c for c in body["chances"]}
    assert set(chances) == {"recovery", "reliable deterioration"}
    for c in chances.values():
        assert 0 <= c["mean_predicted"] <= 1 and 0 <= c["brier"] <= 1 and c["n"] > 0
    by_group = body["semi_synthetic_by_group"]
    assert by_group[0]["dimension"] == "all" and 0.5 < by_group[0]["effect_coverage"]["rate"] <= 1
    assert {g["dimension"] for g in by_group} == {"all", "ethnic group", "sex", "age band"}
    assert all(set(g) == {"dimension", "group", "suppressed"} for g in by_group if g.get("suppressed"))
    semi = body["semi_synthetic"]
    assert {s["kind"] for s in semi} == {"talking_therapies"}
    assert all(0 <= s["effect_coverage"]["rate"] <= 1 and s["root_pehe"] > 0 for s in semi)
    r = invoke("selection", "evaluate", "--data", str(tmp_path), "--format", "json")
    assert r.exit_code == 2 and "teams.parquet" in r.output


def test_numeric_options_missing_options_folders_and_damaged_models_are_handled(tmp_path: Path) -> None:
    train = episodes(600, seed=23)
    codes = {"cbt": 1, "counselling": 2, "gsh": 3}
    table = {"episode": [f"e{i}" for i in range(600)], "arm": [float(codes[r]) for r in train.received]}
    table["arm"][0] = None  # an empty option: left out, never an option called "nan"
    table |= {"y": train.outcome.tolist(), "severity": train.data["severity"].tolist()}
    pq.write_table(pa.table(table), tmp_path / "numeric.parquet")
    base = [
        "selection",
        "fit",
        str(tmp_path / "numeric.parquet"),
        "--treatment",
        "arm",
        "--outcome",
        "y",
        "--id",
        "episode",
    ]
    r = invoke(*base, "--reference", "2", "--out", str(tmp_path / "nodir" / "m.json"))
    assert r.exit_code == 2 and "--out" in r.output and "does not exist" in r.output
    r = invoke(*base, "--reference", "2", "--out", str(tmp_path / "m.json"))
    assert r.exit_code == 0 and "1 row(s) without an option" in r.output, r.output
    out = tmp_path / "p.csv"
    assert (
        invoke(
            "selection", "predict", str(tmp_path / "m.json"), str(tmp_path / "numeric.parquet"), "--out", str(out)
        ).exit_code
        == 0
    )
    header = next(csv.reader(out.read_text().splitlines()))
    assert header[0] == "episode"  # the fit's --id, by default
    assert (
        "outcome_1" in header
        and "effect_1" in header
        and "effect_2" not in header
        and not any("nan" in h for h in header)
    )
    (tmp_path / "bad.json").write_text('{"format": "idiograph.selection/1"}')
    r = invoke("selection", "predict", str(tmp_path / "bad.json"), str(tmp_path / "numeric.parquet"), "--out", str(out))
    assert r.exit_code == 2 and "incomplete or damaged" in r.output
    (tmp_path / "list.json").write_text("[1]")
    r = invoke(
        "selection", "predict", str(tmp_path / "list.json"), str(tmp_path / "numeric.parquet"), "--out", str(out)
    )
    assert r.exit_code == 2 and "not an idiograph treatment-selection model" in r.output
