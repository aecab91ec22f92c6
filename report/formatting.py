"""Numbers as people read them, and the one place a count is turned into text."""

from __future__ import annotations

import math

SUPPRESSED = "suppressed"


class SmallCountError(ValueError):
    """A count below the cell-size floor reached the report: BI users must never see it."""


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in {"<NA>", "nan"}


def count(value: object, floor: int) -> str:
    """A patient or row count: grouped digits, 'suppressed' when hidden, 0 for an empty group. A visible
    count from 1 to the floor - 1 means the export's suppression failed, so it stops the report rather than
    printing it."""
    if is_missing(value):
        return SUPPRESSED
    number = int(value)  # type: ignore[call-overload]
    if 0 < number < floor:
        raise SmallCountError(f"count {number} is below the cell-size floor {floor}")
    return f"{number:,}"


def percent(value: object, decimals: int = 1) -> str:
    return SUPPRESSED if is_missing(value) else f"{float(value) * 100:.{decimals}f} %"  # type: ignore[arg-type]


def dollars(value: object) -> str:
    """US dollars: whole dollars below a million, then millions with one decimal."""
    if is_missing(value):
        return SUPPRESSED
    amount = float(value)  # type: ignore[arg-type]
    return f"${amount / 1e6:,.1f} M" if abs(amount) >= 1e6 else f"${amount:,.0f}"


def decimal(value: object, decimals: int = 2, unit: str = "") -> str:
    if is_missing(value):
        return SUPPRESSED
    text = f"{float(value):,.{decimals}f}"  # type: ignore[arg-type]
    return f"{text} {unit}" if unit else text
