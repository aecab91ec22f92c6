"""Recognising DuckDB's 'file is locked' error, shared by the run steps and the SQL shell (which must stay
light to start: it imports no plotting)."""

from __future__ import annotations

import re
from pathlib import Path

LOCK_PATTERN = re.compile(
    r"Could not set lock on file \"(?P<file>[^\"]+)\": Conflicting lock is held in "
    r"(?P<holder>.+?) \(PID (?P<pid>\d+)\)"
)


def lock_message(text: str, database: Path) -> str | None:
    """One line saying the database is open in another process; None when `text` is about anything else."""
    match = LOCK_PATTERN.search(text)
    if not match:
        return None
    return (
        f"{database} is open in another process (PID {match['pid']}, {match['holder']}): close that "
        "connection and run again. Query exports/bi.duckdb (`make sql`) instead; it never blocks a build."
    )
