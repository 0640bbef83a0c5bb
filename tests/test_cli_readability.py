"""The command line reads at 80 columns: tables wrap within their columns (or turn into records), progress never
says "0/?", and a bad date is one line naming the option, exit code 2, no traceback."""

from __future__ import annotations

import io
import re

from rich.console import Console
from rich.progress import Progress
from typer.testing import CliRunner

from idiograph.cli import app as cli
from idiograph.cli.common import Count, show_table

LONG_ERROR = "ValueError: the estimator could not converge after 200 iterations on person 3f2a9c1e-8b7d"


def _captured(width: int = 80) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, force_terminal=False, color_system=None), buf


def test_a_wide_table_wraps_within_80_columns_and_squeezes_no_column() -> None:
    """Found: `idiograph outcomes` at 80 columns cut every header to "reliab…" and the episode id to "3f2a9c…"."""
    out, buf = _captured()
    columns = (
        "episode",
        "finished",
        "paired scores",
        "case at start",
        "recovered",
        "improved",
        "worse",
        "reliable recovery",
    )
    episode = "3f2a9c1e-8b7d-4c1e-9a2b-5d6e7f8a9b0c"
    show_table(
        "Episodes",
        columns,
        [(episode, "yes", "4", "yes", "no", "yes", "no", "no")],
        numeric=("paired scores",),
        out=out,
    )
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text and "episode:" not in text, text  # a table, nothing cut off
    for word in {w for c in columns for w in c.split()}:
        assert re.search(rf"\b{word}\b", text), (word, text)  # each header word whole, not a one-letter sliver
    assert "3f2a9c1e" in text and "9b0c" in text  # the id folded over lines, not cut
    out, buf = _captured()
    show_table("Rule failures", ("rule", "error"), [("not-on-track", LONG_ERROR)], out=out)
    assert "…" not in buf.getvalue() and "converge" in buf.getvalue()


def test_a_table_too_wide_for_the_terminal_becomes_records() -> None:
    out, buf = _captured(40)
    columns = ("username", "name", "role", "active", "failed sign-ins", "locked until (UTC)", "live sessions")
    show_table(
        "Accounts",
        columns,
        [("h.marsh", "Helen Marsh", "senior clinician", "yes", "0", "", "1")],
        numeric=("failed sign-ins", "live sessions"),
        out=out,
    )
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 40, text
    assert "username: h.marsh" in text and "role: senior clinician" in text


def test_progress_gives_the_total_when_known_and_a_count_when_not() -> None:
    out, buf = _captured()
    with Progress(Count(), console=out) as progress:
        known = progress.add_task("known", total=10)
        progress.advance(known, 3)
        unknown = progress.add_task("unknown", total=None)
        assert str(Count().render(progress.tasks[known])) == "3/10"
        assert str(Count().render(progress.tasks[unknown])) == ""
        progress.advance(unknown, 1200)
        assert str(Count().render(progress.tasks[unknown])) == "1,200"
    assert "0/?" not in buf.getvalue() and "/?" not in buf.getvalue()


def test_baselines_compute_refuses_a_bad_date_in_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "obs.csv"
    good.write_text("person_id,code,value,time\na,44261-6,5,2026-03-01\n")
    out = str(tmp_path / "out.parquet")
    runner = CliRunner()
    r = runner.invoke(
        cli,
        ["baselines", "compute", "--observations", str(good), "--out", out, "--since", "2026-13-40"],
        env={"COLUMNS": "80"},
    )
    assert r.exit_code == 2, r.output
    assert "--since: '2026-13-40' is not a date; expected YYYY-MM-DD" in r.output and "Traceback" not in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("person_id,code,value,time\na,44261-6,5,2026-13-40\n")
    r = runner.invoke(cli, ["baselines", "compute", "--observations", str(bad), "--out", out], env={"COLUMNS": "80"})
    assert r.exit_code == 2, r.output
    line = next(x for x in r.output.splitlines() if x.startswith("error:"))
    assert "time:" in line and "'2026-13-40'" in line and "YYYY-MM-DD" in line  # the whole message on one line
    assert "Traceback" not in r.output and "ConversionException" not in r.output


def test_users_list_reads_at_80_columns(run) -> None:  # type: ignore[no-untyped-def]
    r = run(
        "users",
        "create",
        "--username",
        "a.very-long-username.for-testing",
        "--role",
        "senior_clinician",
        "--display-name",
        "Professor Henrietta Montgomery-Smythe",
        "--password-stdin",
        input="a-long-password\n",
    )
    assert r.exit_code == 0, r.output
    listed = CliRunner().invoke(cli, ["users", "list"], env={"COLUMNS": "80"})
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert max(len(x) for x in lines) <= 80, listed.output
    assert "…" not in listed.output and "clinician" in listed.output and "Henrietta" in listed.output
