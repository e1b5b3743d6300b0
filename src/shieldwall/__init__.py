"""Shieldwall: self-hostable defence against non-consensual intimate imagery."""

import os

# FAISS's OpenMP threads spin on a core for a while after every search: a scan loop doing one
# core of work used 1.2 cores, and under load the spinning took the core a scan thread needed.
# Waiting passively costs nothing measurable per search (0.53 cores for the same loop). It must
# be set before FAISS is first imported; an operator's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

__all__ = ["__version__"]
