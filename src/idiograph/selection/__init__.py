"""Treatment selection: each appropriate option's expected outcome for this person, from a service's own finished
episodes, with intervals that mean what they say (docs/decisions/0010-treatment-selection-learner.md)."""
