"""The ``shieldwall`` command (Typer)."""
