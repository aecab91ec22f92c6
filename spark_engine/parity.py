"""Compare every table a DuckDB build and a Spark build of the same raw tables hold:
`python -m spark_engine.parity --db warehouse.duckdb` (Spark's tables from the `spark` target's folder).

Tables of the schemas data_quality, intermediate, marts and bi are compared row for row, order-independently:
the same columns in the same order, the same number of rows, equal values, floats within a relative 1e-9
(NaN equals NaN), and the columns that differ between two builds by design (tests/table_hashes.py) left out.
bi.segment_transitions is left out: a local Spark session does not build it (no snapshots without Delta).
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

SCHEMAS = ("data_quality", "intermediate", "marts", "bi")
# Differ between two builds of the same input by design (tests/table_hashes.py), or are an engine's own:
# the pickled model bytes of cluster_evaluation are compared through the labels they give (patient_segments).
SKIPPED_COLUMNS = {
    "marts.cluster_evaluation": {"fit_seconds", "fitted_model"},
    "bi.build_info": {"build_id", "built_at"},
    "bi.segment_transitions": {"previous_build_id", "current_build_id"},
}
RELATIVE_TOLERANCE = 1e-9
# Not built on a local Spark session, by design: built from the snapshots, which need Delta (docs/spark.md).
NOT_ON_LOCAL_SPARK = {"bi.segment_transitions"}


@dataclass
class TableParity:
    table: str
    duckdb_rows: int
    spark_rows: int | None
    problems: list[str] = field(default_factory=list)
    max_relative_difference: float = 0.0

    @property
    def equal(self) -> bool:
        return not self.problems


def duckdb_tables(db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where list_contains(?, schema_name) order by all", [list(SCHEMAS)]).fetchall()
        return {name: con.execute(f"select * from {name}").df() for (name,) in names}


def spark_tables(spark: Any, names: Sequence[str]) -> dict[str, pd.DataFrame | None]:
    frames: dict[str, pd.DataFrame | None] = {}
    for name in names:
        schema, table = name.split(".")
        frames[name] = (spark.table(name).toArrow().to_pandas()
                        if spark.catalog.tableExists(f"{schema}.{table}") else None)
    return frames


def normalized(value: Any) -> Any:
    """One comparable Python value per cell, whatever the engine's type (numpy, Decimal, lists, NaT)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return tuple(normalized(item) for item in value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        # pandas shows a NULL of a numeric column as NaN, from either engine.
        return None if math.isnan(value) else value
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        # DuckDB's DATE reaches pandas as a timestamp at midnight, Spark's as a date.
        return datetime.datetime(value.year, value.month, value.day)
    if hasattr(value, "isoformat") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)
    return value


def sort_key(row: tuple) -> tuple:
    """Rows sorted by their values, floats at 9 significant digits so that tiny differences keep the order."""
    return tuple(
        (0, "") if value is None else
        (1, f"{value:.9g}") if isinstance(value, float) else
        (1, repr(value))
        for value in row
    )


def rows_of(frame: pd.DataFrame) -> list[tuple]:
    rows = [tuple(normalized(value) for value in row) for row in frame.itertuples(index=False, name=None)]
    return sorted(rows, key=sort_key)


def relative_difference(left: float, right: float) -> float:
    if math.isnan(left) and math.isnan(right):
        return 0.0
    if left == right:
        return 0.0
    return abs(left - right) / max(abs(left), abs(right))


def compare_values(left: Any, right: Any) -> float | None:
    """The relative difference of two numbers, 0 for equal values, None for values that differ otherwise."""
    if isinstance(left, float | int) and isinstance(right, float | int) and not isinstance(left, bool) \
            and not isinstance(right, bool):
        return relative_difference(float(left), float(right))
    if isinstance(left, tuple) and isinstance(right, tuple) and len(left) == len(right):
        differences = [compare_values(a, b) for a, b in zip(left, right, strict=True)]
        return None if None in differences else max(differences, default=0.0)
    return 0.0 if left == right else None


def compare_table(name: str, duck: pd.DataFrame, spark: pd.DataFrame | None) -> TableParity:
    result = TableParity(name, len(duck), None if spark is None else len(spark))
    if spark is None:
        result.problems.append("missing on Spark")
        return result
    skipped = SKIPPED_COLUMNS.get(name, set())
    duck = duck.loc[:, [c for c in duck.columns if c not in skipped]]
    spark = spark.loc[:, [c for c in spark.columns if c not in skipped]]
    if list(duck.columns) != list(spark.columns):
        result.problems.append(f"columns differ: duckdb {list(duck.columns)} spark {list(spark.columns)}")
        return result
    if len(duck) != len(spark):
        result.problems.append(f"rows differ: duckdb {len(duck)} spark {len(spark)}")
        return result
    for number, (left, right) in enumerate(zip(rows_of(duck), rows_of(spark), strict=True)):
        for column, a, b in zip(duck.columns, left, right, strict=True):
            if a is None and b is None:
                continue
            difference = None if (a is None) != (b is None) else compare_values(a, b)
            if difference is None or difference > RELATIVE_TOLERANCE:
                if len(result.problems) < 5:
                    result.problems.append(f"row {number} column {column}: duckdb {a!r} spark {b!r}")
            else:
                result.max_relative_difference = max(result.max_relative_difference, difference)
    return result


def compare(db: Path, spark: Any) -> list[TableParity]:
    duck = {name: frame for name, frame in duckdb_tables(db).items() if name not in NOT_ON_LOCAL_SPARK}
    sparks = spark_tables(spark, list(duck))
    return [compare_table(name, frame, sparks[name]) for name, frame in duck.items()]


def report(results: Sequence[TableParity]) -> str:
    equal = [r for r in results if r.equal]
    lines = [f"{len(equal)} of {len(results)} tables equal "
             f"({sum(r.duckdb_rows for r in equal):,} rows; largest relative float difference "
             f"{max((r.max_relative_difference for r in equal), default=0.0):.2g})"]
    for result in results:
        if not result.equal:
            lines.append(f"  {result.table} ({result.duckdb_rows} rows on DuckDB): "
                         + "; ".join(result.problems))
    lines.append(f"not built on a local Spark session, by design: {', '.join(sorted(NOT_ON_LOCAL_SPARK))}")
    return "\n".join(lines)


def unexpected(results: Sequence[TableParity]) -> list[TableParity]:
    """The tables that differ, or that Spark did not build."""
    return [r for r in results if not r.equal]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spark_engine.parity",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True,
                        help="the DuckDB warehouse built from the same raw tables")
    parser.add_argument("--target", default="spark")
    args = parser.parse_args(argv)
    from spark_engine.session import spark_session

    spark = spark_session(args.target)
    try:
        results = compare(args.db, spark)
    finally:
        spark.stop()
    print(report(results))
    return 0 if not unexpected(results) else 1


if __name__ == "__main__":
    sys.exit(main())
