"""Alerts: every kind, one lifecycle, and ``raise_many`` used by every rule that raises one."""
