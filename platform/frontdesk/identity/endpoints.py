"""HTTP API (being written)."""

CONTROLLERS: list[type] = []
