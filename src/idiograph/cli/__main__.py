"""``python -m idiograph.cli``: the same command line as ``idiograph``."""

from idiograph.cli import app

app()
