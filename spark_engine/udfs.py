"""The project's SQL functions on a Spark session: suppress_cells(), the BI marts' cell suppression
(cell_suppression/solver.py), as on DuckDB (cell_suppression/duckdb_plugin.py). dbt-spark's `session` method
runs in dbt's own process, so `python -m spark_engine.run_dbt` registers them on the session before dbt opens
it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from cell_suppression import SQL_NAME
from cell_suppression.solver import suppress

DECISION = "array<struct<cell_id: string, is_suppressed: boolean, reason: string, protects_cell_id: string>>"


def suppress_cells(cells: list[Any] | None, memberships: list[Any] | None, min_cell_size: int,
                   max_changes: int, relation: str) -> list[dict[str, Any]]:
    """The solver over Spark's rows (an empty aggregate arrives as an empty list, or NULL)."""
    return [asdict(decision) for decision in suppress(
        [row.asDict() for row in cells or []], [row.asDict() for row in memberships or []],
        min_cell_size, max_changes, relation)]


def register(spark: Any) -> None:
    spark.udf.register(SQL_NAME, suppress_cells, DECISION)
