"""Writing a generated service to files: Parquet, CSV, or one FHIR transaction Bundle per person
(newline-delimited JSON). Ground truth goes under ``truth/``, apart from the observed data."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from idiograph.synth.chunks import PERSON_TABLES, SCHEMAS, TRUTH
from idiograph.synth.fhir_bundles import person_bundles


def _path(out: Path, table: str, ext: str) -> Path:
    if table in TRUTH:
        (out / "truth").mkdir(parents=True, exist_ok=True)
        return out / "truth" / f"{table.removeprefix('truth_')}.{ext}"
    return out / f"{table}.{ext}"


class ParquetSink:
    def __init__(self, out: Path) -> None:
        self.out, self.writers = out, {}  # type: ignore[var-annotated]

    def write(self, table: str, data: pa.Table) -> None:
        if table not in self.writers:
            self.writers[table] = pq.ParquetWriter(
                _path(self.out, table, "parquet"), SCHEMAS[table], compression="zstd"
            )
        if data.num_rows:
            self.writers[table].write_table(data)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, list):
        return ";".join(v)
    return v


class CsvSink:
    def __init__(self, out: Path) -> None:
        self.out, self.files, self.writers = out, {}, {}  # type: ignore[var-annotated]

    def write(self, table: str, data: pa.Table) -> None:
        if table not in self.writers:
            f = _path(self.out, table, "csv").open("w", newline="", encoding="utf-8")
            self.files[table] = f
            self.writers[table] = csv.writer(f)
            self.writers[table].writerow(SCHEMAS[table].names)
        w = self.writers[table]
        for batch in data.to_batches(50_000):
            cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for row in zip(*cols, strict=True):
                w.writerow([_cell(v) for v in row])

    def close(self) -> None:
        for f in self.files.values():
            f.close()


class FhirSink:
    """bundles.ndjson (one transaction Bundle per person, importable as is); truth and service as CSV."""

    def __init__(self, out: Path, source: str) -> None:
        self.csv = CsvSink(out)
        self.source = source
        self.file = (out / "bundles.ndjson").open("w", encoding="utf-8")
        self.pending: dict[str, pa.Table] = {}
        self.teams: dict[str, str] = {}

    def write(self, table: str, data: pa.Table) -> None:
        if table == "teams":
            self.teams = {t["team_id"]: t["name"] for t in data.to_pylist()}
        if table in TRUTH or table in ("teams", "clinicians"):
            self.csv.write(table, data)
        else:
            self.pending[table] = data
        if table == "observations":
            for bundle in person_bundles(self.pending, self.source, self.teams):
                self.file.write(json.dumps(bundle, separators=(",", ":")) + "\n")
            self.pending = {}

    def close(self) -> None:
        self.file.close()
        self.csv.close()


def write_all(
    out: Path,
    fmt: str,
    service: dict[str, pa.Table],
    chunks: Iterable[dict[str, pa.Table]],
    source: str,
    on_chunk: Callable[[dict[str, pa.Table]], None] | None = None,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    sink: ParquetSink | CsvSink | FhirSink
    sink = {"parquet": ParquetSink, "csv": CsvSink}[fmt](out) if fmt != "fhir" else FhirSink(out, source)
    try:
        for name, table in service.items():
            sink.write(name, table)
        for tables in chunks:
            for name in (*PERSON_TABLES, "observations"):  # observations last: the FHIR sink flushes on it
                sink.write(name, tables[name])
            if on_chunk:
                on_chunk(tables)
    finally:
        sink.close()
