"""Expected recovery: the service's own finished courses, the expected course and boundary, not on track."""
