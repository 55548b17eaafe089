"""`monitor demo` (placeholder: filled in by its owner)."""

COMMANDS: list = []
