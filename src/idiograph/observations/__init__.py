"""The one time-series store: code, value, unit, time, source; and every way data comes into it."""
