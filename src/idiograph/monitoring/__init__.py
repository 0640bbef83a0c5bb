"""Reliable change, recovery metrics, expected recovery, not-on-track, relapse and reviews."""
