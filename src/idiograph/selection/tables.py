"""Reading a data team's table (CSV or Parquet) into columns the learner takes, and writing predictions back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from idiograph.errors import FieldProblem, InvalidInput
from idiograph.selection.learner import OptionsPrediction


def read_table(path: Path) -> dict[str, Any]:
    """Columns by name: numeric columns as float arrays (missing as NaN), any other as a list of text or None."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise _bad(str(path), "must be a .csv or .parquet file")
    if not path.is_file():
        raise _bad(str(path), "no such file")
    try:
        table = pq.read_table(path) if suffix == ".parquet" else pacsv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _bad(str(path), f"cannot be read: {exc}") from None
    if table.num_rows == 0:
        raise _bad(str(path), "has no rows")
    out: dict[str, Any] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            out[name] = np.array(
                [np.nan if v is None else float(v) for v in column.to_pylist()],
                dtype=float,
            )
        else:
            out[name] = [None if v is None else str(v) for v in column.to_pylist()]
    return out


def prediction_columns(p: OptionsPrediction, ids: tuple[str, Sequence[Any]]) -> dict[str, Any]:
    """The ``selection predict`` columns: the id (or ``row``); per option ``outcome_<o>``, ``_lower``, ``_upper``;
    per option but the reference ``effect_<o>``, ``_lower``, ``_upper``; then ``recommended``."""
    name, values = ids
    out: dict[str, Any] = {name: list(values)}
    for j, o in enumerate(p.options):
        out[f"outcome_{o}"] = p.outcome[:, j]
        out[f"outcome_{o}_lower"] = p.outcome_lower[:, j]
        out[f"outcome_{o}_upper"] = p.outcome_upper[:, j]
    for j, o in enumerate(p.options):
        if o == p.reference:
            continue
        out[f"effect_{o}"] = p.effect[:, j]
        out[f"effect_{o}_lower"] = p.effect_lower[:, j]
        out[f"effect_{o}_upper"] = p.effect_upper[:, j]
    out["recommended"] = list(p.recommended)
    return out


def write_table(path: Path, columns: dict[str, Any]) -> None:
    """Write columns as Parquet or CSV, by the file's suffix."""

    def values(v: Any) -> list[Any]:
        items = v.tolist() if isinstance(v, np.ndarray) else list(v)
        return [None if isinstance(x, float) and np.isnan(x) else x for x in items]  # no number: an empty cell

    table = pa.table({k: pa.array(values(v)) for k, v in columns.items()})
    if path.suffix.lower() == ".parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)


def _bad(field: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field}: {reason}", [FieldProblem(field, reason)])
