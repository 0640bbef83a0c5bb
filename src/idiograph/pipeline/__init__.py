"""What happens when observations are stored, in a written order: store, the safety rule, then the statistical
rules (``flow.RULES``). A failing statistical rule never loses the data or the safety alert: it is recorded for
administrators and retried (``failures``)."""

from idiograph.pipeline.flow import RULES, check_settings, record

__all__ = ["RULES", "check_settings", "record"]
