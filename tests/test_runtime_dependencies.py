"""`make run` installs only the runtime dependencies (the test extra stays with `make test`): every module of the
package must import without a package that only the test extra brings. Spark is the one optional engine, imported
inside the function that uses it (`idiograph baselines compute --engine spark` needs `pip install -e '.[spark]'`)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# import names of what only the test extra installs (and pandas/pyspark, which only the spark extra installs)
TEST_ONLY = (
    "pyspark",
    "pandas",
    "pytest",
    "hypothesis",
    "httpx",
    "schemathesis",
    "playwright",
    "axe_playwright_python",
    "ruff",
    "mypy",
    "importlinter",
)

PROBE = """
import importlib, importlib.abc, pkgutil, sys

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"{name} is not installed by `make run`")
        return None

sys.meta_path.insert(0, Hide())
import idiograph
failed = []
for m in pkgutil.walk_packages(idiograph.__path__, "idiograph."):
    if m.name.startswith("idiograph.migrations.") or m.name.endswith("__main__"):  # run by alembic, by python -m
        continue
    try:
        importlib.import_module(m.name)
    except ModuleNotFoundError as exc:
        failed.append(f"{m.name}: {exc}")
print("\\n".join(failed))
"""


def test_the_runtime_is_what_pyproject_says() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"]).lower()
    assert not any(name in runtime for name in ("pyspark", "pytest", "playwright", "schemathesis", "ruff", "mypy"))
    assert "pyspark>=3.5" in project["optional-dependencies"]["test"]


def test_every_module_imports_without_the_test_extra() -> None:
    out = subprocess.run(
        [sys.executable, "-c", f"HIDDEN = {set(TEST_ONLY)!r}\n{PROBE}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.stdout.strip() == ""
