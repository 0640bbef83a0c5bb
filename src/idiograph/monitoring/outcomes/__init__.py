"""Outcomes: NHS Talking Therapies definitions per episode and service, and progress since the first score."""
