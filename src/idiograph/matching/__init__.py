"""Matching people to therapists by measured strengths and preferences, under capacity."""
