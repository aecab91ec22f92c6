"""Small-cell suppression of the BI marts: the solver (solver.py), and its registration as the SQL function
suppress_cells() on DuckDB (duckdb_plugin.py, a dbt-duckdb plugin) and on Spark (spark_engine.udfs)."""

from cell_suppression.solver import Decision, SuppressionError, suppress

__all__ = ["Decision", "SuppressionError", "suppress", "SQL_NAME"]

# The SQL function the marts call (macros/cell_suppression.sql).
SQL_NAME = "suppress_cells"
