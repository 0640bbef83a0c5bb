"""Synthetic services for demos, tests and benchmarks (deterministic from a seed)."""
