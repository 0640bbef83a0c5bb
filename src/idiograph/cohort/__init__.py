"""Whole-population computations, written once in Ibis (DuckDB embedded; PySpark for more than one machine)."""
