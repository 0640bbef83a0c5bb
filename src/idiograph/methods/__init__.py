"""Pure statistics shared by several capabilities (numpy/scipy and plain Python only; mypy --strict)."""
