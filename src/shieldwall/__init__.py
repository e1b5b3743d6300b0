"""Shieldwall: self-hostable defence against non-consensual intimate imagery."""

__version__ = "0.1.0"

__all__ = ["__version__"]
