"""Personal baselines: setpoints, personalised reference intervals, reference change values (CLINICAL.md §4)."""
