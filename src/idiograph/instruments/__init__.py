"""Instrument definitions as data (items, answers, bands, caseness, reliable-change inputs, safety items),
validated at load: the reference every capability reads, below them all (pure)."""
