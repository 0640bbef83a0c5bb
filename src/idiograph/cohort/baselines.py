"""Every person's baseline for every measure in one pass: ``idiograph baselines compute`` (Ibis).

The same formulas as the per-person modules (``idiograph.baselines``), applied to per-(person, code) sums:
empirical Bayes with the method-of-moments prior per code (``normal_normal``), Coskun's biological-variation
PRI (``biological_variation``) and Foy's mixture setpoint (``setpoint``; the mixture is fitted per person in
Python on the spaced results Ibis selects). A test checks that both paths agree to 1e-9.

Output, one row per (person, code): ``person_id, code, n, setpoint, lower, upper, method, latest_value,
latest_outside`` - the interval is the central interval of ``coverage`` for the next result; the latest
result (latest time; equal times broken by the larger value, so input order never matters) is judged
against the interval built from the person's earlier results.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from scipy.stats import t as student_t

from idiograph.baselines import biological_variation as bv
from idiograph.baselines import setpoint as foy
from idiograph.baselines.intervals import z_for
from idiograph.baselines.normal_normal import TAU2_FLOOR
from idiograph.observations.catalogue import shipped

Method = Literal["eb", "coskun", "setpoint"]
Engine = Literal["duckdb", "spark"]
COLUMNS = ("person_id", "code", "value", "time")
OUTPUT = pa.schema(
    [
        ("person_id", pa.string()),
        ("code", pa.string()),
        ("n", pa.int64()),
        ("setpoint", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
        ("method", pa.string()),
        ("latest_value", pa.float64()),
        ("latest_outside", pa.bool_()),
    ]
)


class InputError(ValueError):
    """The observations file cannot be used; the message names the column and the reason."""


@dataclass(frozen=True)
class MeasureInfo:
    code: str
    log: bool
    lo: float | None
    hi: float | None


def measure_info() -> list[MeasureInfo]:
    """Scale and bounds by code, from the catalogue (a code string may appear in one system only here)."""
    out: dict[str, MeasureInfo] = {}
    for c in shipped().values():
        out.setdefault(c.code, MeasureInfo(c.code, c.scale == "log", c.min, c.max))
    return sorted(out.values(), key=lambda m: m.code)


APP_NAME = "idiograph-baselines"
# Only in local mode and only where nothing set them: no web UI port for a one-off command, few shuffle partitions
# on one machine. On a cluster Spark's own defaults stand (the UI is how a data team watches the job).
_STARTED: weakref.WeakSet[Any] = weakref.WeakSet()  # Spark sessions connect() started, which disconnect() stops
LOCAL_DEFAULTS = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "8"}


def spark_settings(
    loaded: Mapping[str, str], master: str | None = None, conf: Mapping[str, str] | None = None, app: str = APP_NAME
) -> dict[str, str]:
    """What to give the session builder: ``loaded`` is Spark's own configuration (spark-submit's arguments,
    ``PYSPARK_SUBMIT_ARGS``, ``spark-defaults.conf``), ``master`` and ``conf`` what the command line says. An explicit
    setting wins over the configuration; nothing here overrides a master the configuration sets; local[*] only when
    nothing sets one."""
    out = dict(conf or {})
    if master:
        if out.get("spark.master", master) != master:
            raise InputError(
                f"--spark-master: {master} disagrees with spark.master={out['spark.master']} in --spark-conf"
            )
        out["spark.master"] = master
    if not (out.get("spark.master") or loaded.get("spark.master")):
        out["spark.master"] = "local[*]"
    name = loaded.get("spark.app.name")
    if "spark.app.name" not in out and (not name or name == "pyspark-shell" or name.endswith(".py")):
        out["spark.app.name"] = app  # Spark's placeholder names (the gateway's, the submitted file's) are replaced
    if (out.get("spark.master") or loaded["spark.master"]).startswith("local"):
        out.update({k: v for k, v in LOCAL_DEFAULTS.items() if k not in out and k not in loaded})
    return out


def connect(
    engine: Engine, master: str | None = None, conf: Mapping[str, str] | None = None, app: str = APP_NAME
) -> Any:
    """An Ibis connection. For Spark: a session already running (a notebook, a driver script) is used as it is;
    otherwise one is built from Spark's configuration (spark-submit, ``PYSPARK_SUBMIT_ARGS``, ``spark-defaults.conf``
    in ``SPARK_CONF_DIR``) with ``master`` and ``conf`` over it. Ibis sets the session time zone to UTC."""
    if engine == "duckdb":
        if master or conf:
            raise InputError("--spark-master/--spark-conf: only with --engine spark")
        return ibis.duckdb.connect()
    if engine == "spark":
        from pyspark import SparkConf, SparkContext
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            return ibis.pyspark.connect(_use_active(active, master, conf))
        SparkContext._ensure_initialized()  # starts (or joins spark-submit's) JVM, which reads the configuration
        loaded = dict(SparkConf().getAll())
        settings = spark_settings(loaded, master, conf, app)
        builder = SparkSession.builder
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # a Java stack trace: keep the line that says what went wrong
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
            why = next((ln for ln in lines if "Exception:" in ln), lines[0]).lstrip(": ")
            url = settings.get("spark.master") or loaded.get("spark.master")
            raise InputError(f"spark master {url}: the Spark session did not start ({why})") from exc
        _STARTED.add(session)
        return ibis.pyspark.connect(session)
    raise InputError(f"engine: {engine!r} is not duckdb or spark")


def _use_active(active: Any, master: str | None, conf: Mapping[str, str] | None) -> Any:
    running = active.sparkContext.master
    if master and master != running:
        raise InputError(f"--spark-master: a Spark session is already running on {running}, not {master}")
    for key, value in (conf or {}).items():
        if not active.conf.isModifiable(key):
            raise InputError(f"--spark-conf: {key} cannot be changed in the Spark session already running")
        active.conf.set(key, value)
    return active


def disconnect(con: Any) -> None:
    """Stop a Spark session this module started (one that was already running is left running)."""
    session = getattr(con, "_session", None)
    if session is not None and session in _STARTED:
        _STARTED.discard(session)
        session.stop()


def spark_where(con: Any) -> tuple[str, str]:
    """The master and application id a Spark connection runs on (what the command reports)."""
    sc = con._session.sparkContext
    return str(sc.master), str(sc.applicationId)


def read_file(con: Any, path: Path, what: str) -> ir.Table:
    """A table from Parquet (a file or a folder of them) or CSV, by the file's extension; ``what`` names it in
    errors."""
    if not path.exists():
        raise InputError(f"{what}: {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".parquet" or path.is_dir():
        return con.read_parquet(str(path))
    if suffix == ".csv":
        return con.read_csv(str(path))
    raise InputError(f"{what}: {path.name} is neither .parquet nor .csv")


def read(con: Any, path: Path) -> ir.Table:
    """Parquet or CSV with columns person_id, code, value, time (by the file's extension)."""
    t = read_file(con, path, "observations")
    missing = [c for c in COLUMNS if c not in t.columns]
    if missing:
        raise InputError(f"observations: missing column(s) {', '.join(missing)} (need {', '.join(COLUMNS)})")
    if not t.value.type().is_numeric():
        raise InputError(f"value: must be numeric, found {t.value.type()}")
    if not t.time.type().is_timestamp():
        _check_times(con, t)
    time = t.time if t.time.type().is_timestamp() else t.time.cast("timestamp")
    return t.select(
        person_id=t.person_id.cast("string"), code=t.code.cast("string"), value=t.value.cast("float64"), time=time
    )


def _check_times(con: Any, t: ir.Table) -> None:
    """Every time in the file reads as a date and time, or ``InputError`` naming the first that does not (found: a
    month 13 ended the command in a database engine's traceback)."""
    as_text = t.time.cast("string")
    try:
        bad = t.filter(as_text.notnull(), as_text.try_cast("timestamp").isnull()).select(time=as_text)
        n = int(con.execute(bad.count()))
        first = con.execute(bad.limit(1))["time"].tolist() if n else []
    except (NotImplementedError, ibis.common.exceptions.IbisError):  # an engine without try_cast: checked on use
        return
    if n:
        raise InputError(
            f"time: {n:,} value(s) are not a date and time, first {first[0]!r} "
            "(expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, e.g. 2026-03-01T09:30:00)"
        )


def _measures() -> ir.Table:
    info = measure_info()
    return ibis.memtable(
        pa.table(
            {
                "m_code": [m.code for m in info],
                "m_log": [m.log for m in info],
                "m_lo": pa.array([m.lo for m in info], pa.float64()),
                "m_hi": pa.array([m.hi for m in info], pa.float64()),
            }
        )
    )


def _prepared(obs: ir.Table) -> ir.Table:
    """Values on the model scale; non-positive results of log-scale measures and nulls are left out."""
    logs = [m.code for m in measure_info() if m.log]
    t = obs.filter(obs.value.notnull(), obs.person_id.notnull(), obs.code.notnull(), obs.time.notnull())
    t = t.mutate(m_log=t.code.isin(logs))
    t = t.filter(~(t.m_log & (t.value <= 0)))
    return t.mutate(x=ibis.cases((t.m_log, t.value.ln()), else_=t.value))


def _sums(t: ir.Table) -> ir.Table:
    """Per (person, code) sums, then the code's scale and bounds (joined on the small aggregate, not per row)."""
    key = ibis.struct({"t": t.time, "v": t.value})
    g = t.group_by(["person_id", "code"]).aggregate(
        n=t.count(),
        s=t.x.sum(),
        ss=(t.x * t.x).sum(),
        latest_value=t.value.argmax(key),
        latest_x=t.x.argmax(key),
    )
    m = _measures()
    g = g.left_join(m, g.code == m.m_code).drop("m_code")
    return g.mutate(m_log=g.m_log.fill_null(False))


def _back(x: ir.FloatingValue, log: ir.BooleanValue) -> ir.FloatingValue:
    return ibis.cases((log, x.exp()), else_=x)


def _clip(x: ir.FloatingValue, lo: ir.FloatingValue, hi: ir.FloatingValue) -> ir.FloatingValue:
    x = ibis.cases((lo.notnull() & (x < lo), lo), else_=x)
    return ibis.cases((hi.notnull() & (x > hi), hi), else_=x)


def eb(obs: ir.Table, coverage: float) -> ir.Table:
    """Empirical Bayes (normal-normal) with the method-of-moments prior of each code."""
    z = z_for(coverage)
    g = _sums(_prepared(obs))
    p = g.group_by("code").aggregate(
        k=g.count(),
        big_n=g.n.sum(),
        ssw=(g.ss - g.s * g.s / g.n).sum(),
        sum_s=g.s.sum(),
        sum_s2n=(g.s * g.s / g.n).sum(),
        sum_n2=(g.n * g.n).sum(),
        m0=(g.s / g.n).mean(),
    )
    p = p.filter((p.k >= 2) & (p.big_n - p.k >= 1))
    p = p.mutate(sigma2=p.ssw / (p.big_n - p.k), grand=p.sum_s / p.big_n)
    p = p.filter(p.sigma2 > 0)
    p = p.mutate(
        msb=(p.sum_s2n - p.big_n * p.grand * p.grand) / (p.k - 1),
        n0=(p.big_n - p.sum_n2 / p.big_n) / (p.k - 1),
    )
    p = p.mutate(tau2=ibis.greatest((p.msb - p.sigma2) / p.n0, TAU2_FLOOR * p.sigma2))
    p = p.select(p_code=p.code, m0=p.m0, tau2=p.tau2, sigma2=p.sigma2)
    j = g.left_join(p, g.code == p.p_code)

    def predictive(n: ir.IntegerValue, s: ir.FloatingValue) -> tuple[ir.FloatingValue, ir.FloatingValue]:
        denom = j.sigma2 + n * j.tau2
        return (j.sigma2 * j.m0 + j.tau2 * s) / denom, (j.sigma2 + j.sigma2 * j.tau2 / denom).sqrt() * z

    mean, half = predictive(j.n, j.s)
    mean1, half1 = predictive(j.n - 1, j.s - j.latest_x)
    lower1 = _clip(_back(mean1 - half1, j.m_log), j.m_lo, j.m_hi)
    upper1 = _clip(_back(mean1 + half1, j.m_log), j.m_lo, j.m_hi)
    has = j.sigma2.notnull()
    method = ibis.cases(
        (~has, "no population prior"), (j.m_log, "empirical Bayes (log scale)"), else_="empirical Bayes"
    )
    return j.select(
        person_id=j.person_id,
        code=j.code,
        n=j.n.cast("int64"),
        setpoint=_clip(_back(mean, j.m_log), j.m_lo, j.m_hi),
        lower=_clip(_back(mean - half, j.m_log), j.m_lo, j.m_hi),
        upper=_clip(_back(mean + half, j.m_log), j.m_lo, j.m_hi),
        method=method,
        latest_value=j.latest_value,
        latest_outside=ibis.cases(
            (has, (j.latest_value < lower1) | (j.latest_value > upper1)), else_=ibis.null("boolean")
        ),
    )


def _bv_table() -> ir.Table:
    rows = {v.code: v for v in bv.table().values()}
    return ibis.memtable(
        pa.table(
            {
                "b_code": list(rows),
                "tv2": [v.cva**2 + v.cvi**2 for v in rows.values()],
            }
        )
    )


def _t_table(coverage: float, max_n: int) -> ir.Table:
    """Student-t quantiles by number of results (the engines have no t quantile function)."""
    ns = list(range(bv.OWN_RESULTS - 1, max_n + 1))
    return ibis.memtable(pa.table({"t_n": ns, "tq": [float(student_t.ppf((1 + coverage) / 2, n - 1)) for n in ns]}))


def coskun(obs: ir.Table, coverage: float, max_n: int) -> ir.Table:
    """Coskun's PRI on the measure's own scale: own variation from five results, else published CVI."""
    z = z_for(coverage)
    t = obs.filter(obs.value.notnull(), obs.person_id.notnull(), obs.code.notnull(), obs.time.notnull())
    key = ibis.struct({"t": t.time, "v": t.value})
    g = t.group_by(["person_id", "code"]).aggregate(
        n=t.count(), s=t.value.sum(), ss=(t.value * t.value).sum(), latest_value=t.value.argmax(key)
    )
    b = _bv_table()
    g = g.left_join(b, g.code == b.b_code).drop("b_code")
    tt = _t_table(coverage, max_n)
    g = g.left_join(tt, g.n == tt.t_n).drop("t_n")
    t1 = _t_table(coverage, max_n).rename(t1_n="t_n", tq1="tq")
    g = g.left_join(t1, g.n - 1 == t1.t1_n).drop("t1_n")

    def limits(
        n: ir.IntegerValue, s: ir.FloatingValue, ss: ir.FloatingValue, tq: ir.FloatingValue
    ) -> tuple[ir.FloatingValue, ir.FloatingValue, ir.FloatingValue, ir.StringValue]:
        nn = n.nullif(0)  # no division by zero on any engine: an empty history gives null, not an error
        mean = s / nn
        var = (ss - s * s / nn) / (n - 1).nullif(0)
        own = tq * ibis.greatest(var, 0.0).sqrt() * (1 + 1.0 / nn).sqrt()
        pub = z * ((n + 1.0) / nn).sqrt() * g.tv2.sqrt() * mean / 100
        half = ibis.cases((n >= bv.OWN_RESULTS, own), ((n >= 1) & g.tv2.notnull(), pub), else_=ibis.null("float64"))
        label = ibis.cases(
            (n >= bv.OWN_RESULTS, "biological variation (own results, Coskun)"),
            ((n >= 1) & g.tv2.notnull(), "biological variation (published CVI, Coskun)"),
            else_="too few results and no published CVI",
        )
        return mean, mean - half, mean + half, label

    mean, lower, upper, label = limits(g.n, g.s, g.ss, g.tq)
    _, lower1, upper1, _ = limits(g.n - 1, g.s - g.latest_value, g.ss - g.latest_value * g.latest_value, g.tq1)
    return g.select(
        person_id=g.person_id,
        code=g.code,
        n=g.n.cast("int64"),
        setpoint=ibis.cases((lower.notnull(), mean), else_=ibis.null("float64")),
        lower=lower,
        upper=upper,
        method=label,
        latest_value=g.latest_value,
        latest_outside=ibis.cases(
            (lower1.notnull(), (g.latest_value < lower1) | (g.latest_value > upper1)), else_=ibis.null("boolean")
        ),
    )


def _ordered(obs: ir.Table) -> ir.Table:
    t = obs.filter(obs.value.notnull(), obs.person_id.notnull(), obs.code.notnull(), obs.time.notnull())
    return t.order_by([t.person_id, t.code, t.time, t.value])


def setpoints(con: Any, obs: ir.Table, coverage: float) -> Iterator[pa.RecordBatch]:
    """Foy's mixture setpoint: rows stream in (person, code, time) order; each person's mixture in Python."""
    current: tuple[str, str] | None = None
    points: list[tuple[Any, float]] = []
    out: list[dict[str, Any]] = []

    def flush() -> None:
        if current is None:
            return
        out.append(setpoint_row(current[0], current[1], points, coverage))

    for batch in con.to_pyarrow_batches(_ordered(obs), chunk_size=100_000):
        cols = batch.to_pydict()
        for pid, code, t, v in zip(cols["person_id"], cols["code"], cols["time"], cols["value"], strict=True):
            if (pid, code) != current:
                flush()
                current, points = (pid, code), []
            points.append((t, v))
        if len(out) >= 50_000:
            yield pa.RecordBatch.from_pylist(out, OUTPUT)
            out = []
    flush()
    if out:
        yield pa.RecordBatch.from_pylist(out, OUTPUT)


def setpoint_row(person: str, code: str, points: list[tuple[Any, float]], coverage: float) -> dict[str, Any]:
    """One output row by the per-person module (also what the agreement test calls)."""
    ordered = sorted(points)
    iv = foy.interval(ordered, coverage)
    earlier = foy.interval(ordered[:-1], coverage)
    latest = ordered[-1][1]
    return {
        "person_id": person,
        "code": code,
        "n": len(ordered),
        "setpoint": iv.setpoint if iv else None,
        "lower": iv.lower if iv else None,
        "upper": iv.upper if iv else None,
        "method": iv.method if iv else "fewer than five results 90 days apart",
        "latest_value": latest,
        "latest_outside": earlier.outside(latest) if earlier else None,
    }


def compute(
    observations: Path,
    out: Path,
    method: Method = "eb",
    coverage: float = 0.95,
    engine: Engine = "duckdb",
    con: Any = None,
    say: Callable[[str], None] = lambda _m: None,
    since: date | None = None,
    until: date | None = None,
) -> int:
    """Read, compute, write (Parquet or CSV by ``out``'s extension); returns the number of rows written. ``since``
    and ``until`` keep results at or after the one and before the other (dates, midnight)."""
    if not 0 < coverage < 1:
        raise InputError("coverage: must be between 0 and 1")
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise InputError(f"out: {out.name} is neither .parquet nor .csv")
    con = con or connect(engine)
    say("reading observations")
    obs = read(con, observations)
    if since is not None:
        obs = obs.filter(obs.time >= datetime.combine(since, datetime.min.time()))
    if until is not None:
        obs = obs.filter(obs.time < datetime.combine(until, datetime.min.time()))
    say(f"computing ({method})")
    if method == "eb":
        expr = eb(obs, coverage)
    elif method == "coskun":
        counts = obs.group_by(["person_id", "code"]).aggregate(n=obs.count())
        max_n = int(con.execute(counts.n.max()) or 1)
        expr = coskun(obs, coverage, max(max_n, bv.OWN_RESULTS))
    elif method == "setpoint":
        return write(setpoints(con, obs, coverage), out, say)
    else:
        raise InputError(f"method: {method!r} is not eb, coskun or setpoint")
    if engine == "duckdb" and out.suffix.lower() == ".parquet":
        return write_native(con, expr.cast(OUTPUT), out)  # DuckDB writes Parquet itself, in parallel
    return write(con.to_pyarrow_batches(expr, chunk_size=500_000), out, say)


def write_native(con: Any, expr: ir.Table, out: Path) -> int:
    """Let the engine write the file (to a temporary name, renamed when complete)."""
    tmp = out.with_name(out.name + ".partial")
    try:
        con.to_parquet(expr, str(tmp))
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(out).metadata.num_rows)


def write(batches: Iterator[pa.RecordBatch], out: Path, say: Callable[[str], None]) -> int:
    """Stream to a temporary file and rename, so a failed run never leaves a half-written output."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    tmp = out.with_name(out.name + ".partial")
    n = 0
    writer: Any = None
    try:
        for b in batches:
            b = pa.RecordBatch.from_arrays(
                [b.column(c).cast(OUTPUT.field(c).type) for c in OUTPUT.names], schema=OUTPUT
            )
            if writer is None:
                writer = (
                    pq.ParquetWriter(tmp, OUTPUT) if out.suffix.lower() == ".parquet" else pacsv.CSVWriter(tmp, OUTPUT)
                )
            writer.write_batch(b)
            n += b.num_rows
            say(f"written {n:,} rows")
        if writer is None:
            writer = pq.ParquetWriter(tmp, OUTPUT) if out.suffix.lower() == ".parquet" else pacsv.CSVWriter(tmp, OUTPUT)
        writer.close()
        tmp.replace(out)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return n
