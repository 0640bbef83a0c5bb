"""idiograph: each person's own data, preferences and circumstances driving day-to-day mental health care."""

__version__ = "0.1.0"
