"""Copy the raw tables from the DuckDB file into Spark:
`python -m spark_engine.raw_tables --db warehouse.duckdb`.

The generator and the loader write DuckDB; on Spark the same tables (schemas mimiciv_hosp, mimiciv_icu, and
synthetic_truth when present) are written to Parquet by DuckDB and read into Spark tables of the same names
and column types (DuckDB's timestamps become Spark TIMESTAMP, its VARCHARs STRING). The record of the loads,
pipeline_log.raw_loads, comes along, so that Spark's tables say which load they are (bi_tables logs it with
the build). Tables that exist in Spark but no longer in DuckDB (synthetic_truth after a load of real data)
are dropped, so Spark sees what DuckDB holds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from generator.schema import RAW_TABLES, TRUTH_SCHEMA

RAW_SCHEMAS = tuple(dict.fromkeys(table.schema for table in RAW_TABLES))
COPIED_SCHEMAS = (*RAW_SCHEMAS, TRUTH_SCHEMA)
# The loads of raw data (generator/load_log.py), the only table of its schema that is copied.
LOAD_LOG = ("pipeline_log", "raw_loads")


def duckdb_tables(db: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select schema_name, table_name from duckdb_tables() where list_contains(?, schema_name) "
            "or (schema_name, table_name) = (?, ?) order by all",
            [list(COPIED_SCHEMAS), *LOAD_LOG],
        ).fetchall()


def export_parquet(db: Path, tables: Sequence[tuple[str, str]], folder: Path) -> dict[str, Path]:
    files = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for schema, table in tables:
            path = folder / f"{schema}.{table}.parquet"
            con.execute(f"copy {schema}.{table} to '{path}' (format parquet)")
            files[f"{schema}.{table}"] = path
    return files


def spark_type(data_type: Any) -> str | None:
    """The Spark type a column read from DuckDB's Parquet must be cast to, or None to keep it."""
    name = data_type.simpleString()
    return "timestamp" if name == "timestamp_ntz" else None


def copy_raw_tables(db: Path, spark: Any) -> dict[str, int]:
    """Replace the Spark copies of the raw (and synthetic_truth) tables and of the load record with DuckDB's;
    rows per table."""
    if not db.is_file():
        raise FileNotFoundError(f"{db}: no DuckDB warehouse (generate or load the raw tables first)")
    tables = duckdb_tables(db)
    missing = [t.qualified_name for t in RAW_TABLES if (t.schema, t.name) not in tables]
    if missing:
        raise ValueError(f"{db} lacks the raw table(s) {', '.join(missing)}")
    counts = {}
    staging = Path(tempfile.mkdtemp(prefix="raw-parquet-"))
    try:
        files = export_parquet(db, tables, staging)
        for schema in (*COPIED_SCHEMAS, LOAD_LOG[0]):
            spark.sql(f"create schema if not exists {schema}")
            wanted = {table for s, table in tables if s == schema}
            for row in spark.sql(f"show tables in {schema}").collect():
                if row.tableName not in wanted and not row.isTemporary:
                    spark.sql(f"drop table {schema}.{row.tableName}")
        for name, path in files.items():
            frame = spark.read.parquet(str(path))
            columns = [
                frame[field.name].cast(cast).alias(field.name) if (cast := spark_type(field.dataType))
                else frame[field.name]
                for field in frame.schema.fields
            ]
            # Parquet files, as dbt-spark's default file format; the table is rewritten in full.
            frame.select(columns).write.mode("overwrite").format("parquet").saveAsTable(name)
            counts[name] = spark.table(name).count()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spark_engine.raw_tables",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="the DuckDB file holding the raw tables")
    parser.add_argument("--target", default="spark", help="profiles.yml target (a session: default spark)")
    args = parser.parse_args(argv)
    from spark_engine.session import spark_session

    started = time.monotonic()
    spark = spark_session(args.target)
    try:
        counts = copy_raw_tables(args.db, spark)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    rows = sum(counts.values())
    print(f"copied {len(counts)} tables ({rows:,} rows) from {args.db} into Spark in "
          f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
