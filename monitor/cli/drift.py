"""`monitor drift` (placeholder: filled in by its owner)."""

COMMANDS: list = []
