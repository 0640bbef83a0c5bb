"""``--engine spark`` runs where Spark's configuration says: on a real standalone cluster (a master and a worker on
127.0.0.1 from the installed pyspark) through spark-defaults.conf and through spark-submit, with the same results
as DuckDB; an explicit master in the configuration is never overridden; local[*] only when nothing sets one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from idiograph.cohort import baselines as cb
from tests.cohort.test_cohort_baselines import _close, _observations

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime (java not on PATH)")
BIN = Path(sys.executable).parent
SPARK_BIN = Path(__import__("pyspark").__file__).parent / "bin"
# Everything on the loopback interface; executors start the venv's Python if they need one.
ENV = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _master_json(webui: int) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(f"http://127.0.0.1:{webui}/json/", timeout=5) as r:
        return json.load(r)  # type: ignore[no-any-return]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """The process group this test started (the JVM and, for the worker, its executors), by its id."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A standalone master and one worker (1 core, 1 GiB), stopped whatever happens."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH)")
    home = tmp_path_factory.mktemp("spark-cluster")
    port, webui, worker_ui = _free_port(), _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        master = ["org.apache.spark.deploy.master.Master", "--port", str(port), "--webui-port", str(webui)]
        worker = ["org.apache.spark.deploy.worker.Worker", url, "--cores", "1", "--memory", "1g"]
        worker += ["--webui-port", str(worker_ui), "--work-dir", str(home / "work")]
        for name, args in [("master", master), ("worker", worker)]:
            with open(home / f"{name}.log", "wb") as log:
                procs.append(
                    subprocess.Popen(
                        [str(SPARK_BIN / "spark-class"), *args, "--host", "127.0.0.1"],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=ENV,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + 90
        while True:
            try:
                if _master_json(webui).get("aliveworkers") == 1:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                logs = "\n".join((home / f"{n}.log").read_text()[-2000:] for n in ("master", "worker"))
                pytest.fail(f"the standalone cluster did not come up:\n{logs}")
            time.sleep(1)
        yield url, webui
    finally:
        for p in reversed(procs):
            _stop(p)


@pytest.fixture(scope="module")
def observations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cluster-obs") / "obs.parquet"
    pq.write_table(_observations(20261203), path)
    return path


def _same_as_duckdb(observations: Path, out: Path, method: str) -> None:
    want = out.with_name(f"duckdb-{method}.parquet")
    cb.compute(observations, want, method, 0.95)  # type: ignore[arg-type]
    key = lambda r: (r["person_id"], r["code"])  # noqa: E731
    got, expected = (sorted(pq.read_table(p).to_pylist(), key=key) for p in (out, want))
    assert len(got) == len(expected) > 300
    for g, e in zip(got, expected, strict=True):
        assert key(g) == key(e) and g["n"] == e["n"] and g["method"] == e["method"], (g, e)
        assert g["latest_value"] == e["latest_value"] and g["latest_outside"] == e["latest_outside"], (g, e)
        for c in ("setpoint", "lower", "upper"):
            assert _close(g[c], e[c]), (c, g, e)


def _ran_on(url: str, webui: int, stdout: str) -> None:
    """The command says it ran on the cluster, and the master lists that application as finished."""
    line = next(ln for ln in stdout.splitlines() if ln.startswith("on Spark "))
    master, app = line.removeprefix("on Spark ").split(", application ")
    assert master == url
    apps = {a["id"]: a for a in _master_json(webui)["completedapps"]}
    assert app in apps and apps[app]["name"] == "idiograph-baselines" and apps[app]["state"] == "FINISHED", apps


@needs_java
def test_spark_defaults_conf_sends_the_job_to_the_cluster(cluster, observations: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, webui = cluster
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (conf_dir / "spark-defaults.conf").write_text(f"spark.master {url}\nspark.executor.memory 512m\n")
    out = tmp_path / "eb.parquet"
    args = ["baselines", "compute", "--engine", "spark", "--observations", str(observations), "--out", str(out)]
    run = subprocess.run(
        [str(BIN / "idiograph"), *args],
        env={**ENV, "SPARK_CONF_DIR": str(conf_dir)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    _ran_on(url, webui, run.stdout)
    _same_as_duckdb(observations, out, "eb")


@needs_java
def test_spark_submit_sends_the_job_to_the_cluster(cluster, observations: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, webui = cluster
    entry = subprocess.run(
        [sys.executable, "-m", "idiograph.cli.spark_submit"], capture_output=True, text=True, check=True
    ).stdout.strip()
    out = tmp_path / "coskun.parquet"
    args = ["baselines", "compute", "--engine", "spark", "--method", "coskun"]
    args += ["--observations", str(observations), "--out", str(out)]
    run = subprocess.run(
        [str(SPARK_BIN / "spark-submit"), "--master", url, "--executor-memory", "512m", entry, *args],
        env=ENV,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    _ran_on(url, webui, run.stdout)
    _same_as_duckdb(observations, out, "coskun")


@needs_java
def test_a_master_in_the_spark_configuration_is_not_overridden(tmp_path: Path) -> None:
    """spark-defaults.conf says local[1]: the session runs there, not on local[*] (the old hard-coded master)."""
    (tmp_path / "spark-defaults.conf").write_text("spark.master local[1]\n")
    probe = (
        "from idiograph.cohort import baselines as cb\n"
        "con = cb.connect('spark')\n"
        "print('MASTER', *cb.spark_where(con))\n"
        "print('UI', con._session.sparkContext.getConf().get('spark.ui.enabled'))\n"
        "cb.disconnect(con)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe],
        env={**ENV, "SPARK_CONF_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = dict(ln.split(" ", 1) for ln in run.stdout.splitlines() if ln.startswith(("MASTER", "UI")))
    assert lines["MASTER"].split()[0] == "local[1]"
    assert lines["UI"] == "false"  # our local default, since nothing set it


def test_settings_keep_the_configuration_and_fill_only_what_nothing_set() -> None:
    loaded = {"spark.master": "spark://head:7077", "spark.app.name": "pyspark-shell"}
    s = cb.spark_settings(loaded)
    assert "spark.master" not in s and s["spark.app.name"] == "idiograph-baselines"
    assert "spark.ui.enabled" not in s and "spark.sql.shuffle.partitions" not in s  # a cluster keeps Spark's own
    assert cb.spark_settings({})["spark.master"] == "local[*]"  # nothing set a master
    local = cb.spark_settings({"spark.master": "local[2]", "spark.ui.enabled": "true", "spark.app.name": "mine"})
    assert local == {"spark.sql.shuffle.partitions": "8"}  # the user's UI and name stand
    explicit = cb.spark_settings(loaded, "yarn", {"spark.executor.memory": "4g"})
    assert explicit["spark.master"] == "yarn" and explicit["spark.executor.memory"] == "4g"
    with pytest.raises(cb.InputError, match="--spark-master"):
        cb.spark_settings({}, "yarn", {"spark.master": "local[2]"})


def test_spark_options_are_refused_without_the_spark_engine(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from idiograph.cli import app

    obs = tmp_path / "obs.parquet"
    pq.write_table(_observations(1), obs)
    args = ["baselines", "compute", "--observations", str(obs), "--out", str(tmp_path / "o.parquet")]
    r = CliRunner().invoke(app, [*args, "--spark-master", "local[2]"])
    assert r.exit_code == 2 and "--spark-master: only with --engine spark" in r.output
    r = CliRunner().invoke(app, [*args, "--engine", "spark", "--spark-conf", "spark.executor.memory"])
    assert r.exit_code == 2 and "--spark-conf" in r.output and "KEY=VALUE" in r.output
