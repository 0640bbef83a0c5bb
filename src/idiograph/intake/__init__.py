"""The intake baseline: the structured intake assessment every discipline contributes to, kept as the reference
point for later decisions (definition as data in intake.yaml)."""
