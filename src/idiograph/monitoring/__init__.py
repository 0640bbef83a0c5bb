"""Measurement-based care on the store: the safety rule; recovery/ (expected course, not on track); relapse/
(after discharge); reviews/ (weeks 4 and 8); outcomes/ (NHS Talking Therapies definitions)."""
