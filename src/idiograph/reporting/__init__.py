"""Service metrics, equity, disclosure control and report rendering."""
