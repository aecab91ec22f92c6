"""dbt-duckdb plugin (profiles.yml, `plugins:`) that gives every connection of a build the SQL function
suppress_cells(cells, memberships, min_cell_size, max_changes, relation): the solver of solver.py over one
mart's cells, returning one decision per cell."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from cell_suppression import SQL_NAME
from cell_suppression.solver import suppress

CELL = ("STRUCT(cell_id VARCHAR, n BIGINT, is_published BOOLEAN, is_headline BOOLEAN, "
        "fixed_is_suppressed BOOLEAN)")
MEMBERSHIP = "STRUCT(constraint_id VARCHAR, cell_id VARCHAR, is_total BOOLEAN)"
DECISION = "STRUCT(cell_id VARCHAR, is_suppressed BOOLEAN, reason VARCHAR, protects_cell_id VARCHAR)"


def suppress_cells(cells: list[dict[str, Any]] | None, memberships: list[dict[str, Any]] | None,
                   min_cell_size: int, max_changes: int, relation: str) -> list[dict[str, Any]]:
    # An empty aggregate arrives as NULL.
    return [asdict(decision)
            for decision in suppress(cells or [], memberships or [], min_cell_size, max_changes, relation)]


def register(connection: DuckDBPyConnection) -> None:
    connection.create_function(
        SQL_NAME, suppress_cells, [f"{CELL}[]", f"{MEMBERSHIP}[]", "INTEGER", "INTEGER", "VARCHAR"],
        f"{DECISION}[]", null_handling="special", side_effects=False,
    )


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        register(conn)
