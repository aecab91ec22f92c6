"""The floor: patient features from one hand-written query, the reference the dbt models are timed against.

    python -m bench.floor --db WAREHOUSE --repeats N --result FILE.json

runs bench/floor_features.sql N times against the raw tables (and the reference seeds) of WAREHOUSE through
the DuckDB Python API, each time materialising bench_floor.patient_features as dbt materialises a table, and
writes the wall and CPU seconds of each execution to FILE.json. It runs as its own process so that its peak
memory is measured like every other stage.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import yaml

FLOOR_SQL = Path(__file__).resolve().parent / "floor_features.sql"
DBT_PROJECT_FILE = Path(__file__).resolve().parent.parent / "dbt_project.yml"
FLOOR_SCHEMA = "bench_floor"
FLOOR_TABLE = f"{FLOOR_SCHEMA}.patient_features"
FEATURES_TABLE = "marts.patient_features"
KEY = "subject_id"
# Sums and means of doubles depend on the order DuckDB's threads combine them in; beyond this relative
# difference two values are different results, not rounding.
RELATIVE_TOLERANCE = 1e-9
_FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
_SAMPLE_SIZE = 5


def floor_query(sql_file: Path = FLOOR_SQL) -> str:
    """The floor's select statement, without a trailing semicolon so that it can be wrapped."""
    return sql_file.read_text(encoding="utf-8").strip().rstrip(";").strip()


def project_vars(project_file: Path = DBT_PROJECT_FILE) -> dict[str, object]:
    """The scalar vars of dbt_project.yml, which the floor reads as DuckDB variables: both sides then use
    one configuration (e.g. icu_stay_admission_tolerance_hours)."""
    project = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    return {name: value for name, value in (project.get("vars") or {}).items()
            if isinstance(value, int | float | str | bool)}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_floor(db: Path, query: str, repeats: int,
              variables: Mapping[str, object]) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each of `repeats` executions, each replacing bench_floor.patient_features."""
    # The same setting as the dbt profile (profiles.yml), so both sides run under one DuckDB configuration.
    with duckdb.connect(str(db), config={"preserve_insertion_order": False}) as con:
        for name, value in variables.items():
            con.execute(f"set variable {name} = ?", [value])
        con.execute(f"create schema if not exists {FLOOR_SCHEMA}")
        timings = []
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            con.execute(f"create or replace table {FLOOR_TABLE} as {query}")
            timings.append((time.perf_counter() - start, _cpu_seconds() - cpu_start))
    return timings


@dataclass(frozen=True)
class FloorCheck:
    """Row-by-row comparison of the floor's table with marts.patient_features."""

    rows_floor: int
    rows_features: int
    only_in_floor: int
    only_in_features: int
    mismatched_rows: int
    column_mismatches: dict[str, int] = field(default_factory=dict)
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    type_differences: dict[str, list[str]] = field(default_factory=dict)
    sample_mismatches: list[int] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return (self.rows_floor == self.rows_features and self.only_in_floor == 0
                and self.only_in_features == 0 and self.mismatched_rows == 0
                and not self.missing_columns and not self.extra_columns and not self.type_differences)


def _column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"describe {table}").fetchall()}


def _differs_sql(column: str, column_type: str) -> str:
    floor_value, features_value = f'f."{column}"', f'd."{column}"'
    if column_type in _FLOAT_TYPES:
        return (f"not ({floor_value} is not distinct from {features_value}"
                f" or abs({floor_value} - {features_value})"
                f" <= {RELATIVE_TOLERANCE} * greatest(1, abs({features_value})))")
    return f"{floor_value} is distinct from {features_value}"


def compare_with_features(db: Path) -> FloorCheck:
    with duckdb.connect(str(db), read_only=True) as con:
        floor_types = _column_types(con, FLOOR_TABLE)
        feature_types = _column_types(con, FEATURES_TABLE)
        common = [name for name in feature_types if name in floor_types and name != KEY]
        differs = {name: _differs_sql(name, feature_types[name]) for name in common}
        any_differs = " or ".join(f"({condition})" for condition in differs.values()) or "false"
        matched = f"f.{KEY} is not null and d.{KEY} is not null"
        per_column = "".join(f", count(*) filter (where {matched} and ({condition}))"
                             for condition in differs.values())
        joined = f"{FLOOR_TABLE} as f full outer join {FEATURES_TABLE} as d on f.{KEY} = d.{KEY}"
        counts = con.execute(
            f"select count(f.{KEY}), count(d.{KEY}), count(*) filter (where d.{KEY} is null),"
            f" count(*) filter (where f.{KEY} is null), count(*) filter (where {matched} and ({any_differs}))"
            f"{per_column} from {joined}"
        ).fetchone()
        sample = con.execute(
            f"select d.{KEY} from {joined} where {matched} and ({any_differs})"
            f" order by 1 limit {_SAMPLE_SIZE}"
        ).fetchall()
    return FloorCheck(
        rows_floor=counts[0], rows_features=counts[1], only_in_floor=counts[2], only_in_features=counts[3],
        mismatched_rows=counts[4],
        column_mismatches={name: n for name, n in zip(common, counts[5:], strict=True) if n},
        missing_columns=[name for name in feature_types if name not in floor_types],
        extra_columns=[name for name in floor_types if name not in feature_types],
        type_differences={name: [floor_types[name], feature_types[name]] for name in common + [KEY]
                          if name in floor_types and floor_types[name] != feature_types[name]},
        sample_mismatches=[row[0] for row in sample],
    )


def check_as_dict(check: FloorCheck) -> Mapping[str, object]:
    return {"equal": check.equal, **asdict(check)}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="warehouse holding the raw tables and seeds")
    parser.add_argument("--repeats", type=int, default=1, help="executions to time")
    parser.add_argument("--result", type=Path, required=True, help="JSON file receiving the seconds")
    parser.add_argument("--sql", type=Path, default=FLOOR_SQL, help="the floor query (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.db.is_file():
        print(f"error: the warehouse {args.db} does not exist", file=sys.stderr)
        return 1
    if args.repeats < 1:
        print(f"error: --repeats must be at least 1, not {args.repeats}", file=sys.stderr)
        return 2
    timings = run_floor(args.db, floor_query(args.sql), args.repeats, project_vars())
    args.result.write_text(json.dumps({"seconds": [wall for wall, _ in timings],
                                       "cpu_seconds": [cpu for _, cpu in timings]}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
