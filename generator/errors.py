"""Errors the command line reports as one line (exit status 1) instead of a traceback."""

from __future__ import annotations


class GenerationError(RuntimeError):
    """The generation cannot be completed as asked; the message says why."""
