"""Item banks, IRT calibration and adaptive questionnaires."""
