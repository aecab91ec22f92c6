"""Copy a Spark build's BI marts and its build log into the DuckDB warehouse:
`python -m spark_engine.bi_tables --db warehouse.duckdb --runs spark-warehouse/dbt_commands`.

The reverse of raw_tables: BI tools, the export (python -m publish) and the report read the DuckDB file, so
after a successful Spark build every table of Spark's schema bi replaces DuckDB's schema bi, and the build's
dbt commands are added to the build log (schema pipeline_log, spark_engine/build_log.py) from their
run_results.json and manifest.json, which `python -m report.run build` keeps in the folder --runs. The export
then checks a Spark build exactly as a DuckDB build.

- Nothing is copied unless the commands together are one complete build on Spark in which every node ran
  without error (build_log.check_complete).
- Each mart gets the table DuckDB builds: its contract's columns, order, DuckDB types and not-null
  constraints (enforced by DuckDB on every build, checked here as dbt checks a contract: a Spark column of
  another name or type stops the copy), and the table and column descriptions DuckDB's persist_docs writes.
  The marts are aggregates (hundreds of rows), so they pass through the driver as Arrow.
- The load and the raw row counts logged are those of Spark's raw tables (their load is the copy of
  pipeline_log.raw_loads that raw_tables takes along), so the export refuses the build once DuckDB holds
  other raw data.
- Schema bi and the log are written in one DuckDB transaction: a reader sees the old build or the new one.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from generator.schema import RAW_TABLES
from publish.build_check import LOG_SCHEMA
from publish.export import BI_SCHEMA, PublishError, qualified, quote_identifier, quote_literal, read_build
from publish.lock import WarehouseBusyError, warehouse_lock
from spark_engine.build_log import (
    BuildLogError,
    DbtCommand,
    RawData,
    check_complete,
    invocation_row,
    node_rows,
    read_command,
)
from spark_engine.raw_tables import LOAD_LOG

# The build log's tables as dbt's hooks create them (pipeline_log_ddl() in macros/pipeline_log.sql).
LOG_DDL = f"""
    create schema if not exists {LOG_SCHEMA};
    create table if not exists {LOG_SCHEMA}.dbt_invocations (
        invocation_id varchar not null,
        command varchar not null,
        started_at timestamp not null,
        finished_at timestamp,
        load_id_at_start varchar,
        load_id_at_end varchar,
        raw_rows_at_start varchar,
        raw_rows_at_end varchar,
        min_cell_size integer,
        small_cells_override boolean,
        cli_vars varchar
    );
    create table if not exists {LOG_SCHEMA}.dbt_node_results (
        invocation_id varchar not null,
        unique_id varchar not null,
        resource_type varchar not null,
        schema_name varchar,
        relation_name varchar,
        status varchar not null
    )
"""
INVOCATION_COLUMNS = ("invocation_id", "command", "started_at", "finished_at", "load_id_at_start",
                      "load_id_at_end", "raw_rows_at_start", "raw_rows_at_end", "min_cell_size",
                      "small_cells_override", "cli_vars")
NOT_NULL = "not_null"


class CopyError(RuntimeError):
    """Spark's schema bi cannot be copied as it is; the message names what is wrong."""


@dataclass(frozen=True)
class Column:
    """A column of a mart's contract: its DuckDB type, whether it may hold NULL, and its description."""

    name: str
    data_type: str
    not_null: bool
    description: str


@dataclass(frozen=True)
class Mart:
    """A model of schema bi as the manifest declares it, with Spark's rows."""

    name: str
    description: str
    columns: tuple[Column, ...]
    rows: Any


def contract_columns(node: Mapping[str, Any]) -> tuple[Column, ...]:
    """The columns of a model's contract, in its order (the order of DuckDB's table)."""
    columns = []
    for name, column in node["columns"].items():
        kinds = {constraint["type"] for constraint in column.get("constraints", [])}
        if not column.get("data_type") or kinds - {NOT_NULL}:
            raise CopyError(f"{BI_SCHEMA}.{node['alias']}.{name}: the copy needs a contract of data types "
                            f"and not_null constraints only (found type {column.get('data_type')!r}, "
                            f"constraints {sorted(kinds)})")
        columns.append(Column(name, column["data_type"], NOT_NULL in kinds, column.get("description") or ""))
    return tuple(columns)


def bi_models(command: DbtCommand) -> list[Mapping[str, Any]]:
    """The enabled models of schema bi in the command's manifest, by name."""
    return sorted((node for node in command.manifest["nodes"].values()
                   if node["resource_type"] == "model" and node["schema"] == BI_SCHEMA),
                  key=lambda node: node["alias"])


def spark_rows(spark: Any, table: str) -> Any:
    """The Spark table as Arrow. Spark's TIMESTAMP (an instant) is read as its wall-clock time in the session
    time zone, as raw_tables wrote DuckDB's TIMESTAMP, so that DuckDB gets its TIMESTAMP back."""
    frame = spark.table(table)
    return frame.select([
        frame[field.name].cast("timestamp_ntz").alias(field.name)
        if field.dataType.simpleString() == "timestamp" else frame[field.name]
        for field in frame.schema.fields
    ]).toArrow()


def read_marts(spark: Any, command: DbtCommand) -> list[Mart]:
    """Every model of schema bi the command's manifest declares, with its Spark table's rows."""
    marts = []
    for node in bi_models(command):
        table = f"{BI_SCHEMA}.{node['alias']}"
        if not spark.catalog.tableExists(table):
            raise CopyError(f"Spark has no table {table}, which the build says it built")
        marts.append(Mart(node["alias"], node.get("description") or "", contract_columns(node),
                          spark_rows(spark, table)))
    return marts


def spark_raw_data(spark: Any) -> RawData:
    """The load and row counts of Spark's raw tables."""
    rows = {table.qualified_name: spark.table(table.qualified_name).count() for table in RAW_TABLES
            if spark.catalog.tableExists(table.qualified_name)}
    schema, table = LOAD_LOG
    load_id = None
    if spark.catalog.tableExists(f"{schema}.{table}"):
        load_id = spark.sql(f"select max_by(load_id, loaded_at) from {schema}.{table}").collect()[0][0]
    return RawData(load_id, rows)


def check_types(con: duckdb.DuckDBPyConnection, mart: Mart, view: str) -> None:
    """Spark's columns are the contract's, by name, order and DuckDB type, as dbt checks a contract."""
    found = [(name, data_type) for name, data_type, *_ in con.execute(f"describe select * from {view}")
             .fetchall()]
    wanted = [(column.name, con.execute(f"select typeof(cast(null as {column.data_type}))").fetchall()[0][0])
              for column in mart.columns]
    if found != wanted:
        differences = [f"{name} {data_type}" for name, data_type in found if (name, data_type) not in wanted]
        expected = [f"{name} {data_type}" for name, data_type in wanted if (name, data_type) not in found]
        raise CopyError(f"Spark's {BI_SCHEMA}.{mart.name} does not match its contract: Spark has "
                        f"{', '.join(differences) or 'the columns in another order'}, the contract "
                        f"{', '.join(expected) or 'the order of its YAML'}")


def create_mart(con: duckdb.DuckDBPyConnection, mart: Mart) -> int:
    """Write one mart as DuckDB's build writes it; returns its row count."""
    view = quote_identifier(f"spark_{mart.name}")
    table = qualified(BI_SCHEMA, mart.name)
    con.register(f"spark_{mart.name}", mart.rows)
    try:
        check_types(con, mart, view)
        definitions = ", ".join(f"{quote_identifier(column.name)} {column.data_type}"
                                + (" not null" if column.not_null else "") for column in mart.columns)
        con.execute(f"create table {table} ({definitions})")
        con.execute(f"insert into {table} select * from {view}")
    finally:
        con.unregister(f"spark_{mart.name}")
    if mart.description:
        con.execute(f"comment on table {table} is {quote_literal(mart.description)}")
    for column in mart.columns:
        con.execute(f"comment on column {table}.{quote_identifier(column.name)} is "
                    f"{quote_literal(column.description)}")
    return mart.rows.num_rows


def write_build(con: duckdb.DuckDBPyConnection, marts: Sequence[Mart], commands: Sequence[DbtCommand],
                raw: RawData) -> int:
    """Replace schema bi with the marts and log the commands, in one transaction; returns the rows copied."""
    con.execute("begin transaction")
    try:
        con.execute(f"drop schema if exists {BI_SCHEMA} cascade")
        con.execute(f"create schema {BI_SCHEMA}")
        n_rows = sum(create_mart(con, mart) for mart in marts)
        _, min_cell_size = read_build(con)
        con.execute(LOG_DDL)
        ids = [command.invocation_id for command in commands]
        # Copying the same build again logs it once.
        for table in ("dbt_invocations", "dbt_node_results"):
            con.execute(f"delete from {LOG_SCHEMA}.{table} where list_contains(?, invocation_id)", [ids])
        con.executemany(
            f"insert into {LOG_SCHEMA}.dbt_invocations ({', '.join(INVOCATION_COLUMNS)}) "
            f"values ({', '.join('?' * len(INVOCATION_COLUMNS))})",
            [list(invocation_row(command, raw, min_cell_size)) for command in commands])
        con.executemany(f"insert into {LOG_SCHEMA}.dbt_node_results values (?, ?, ?, ?, ?, ?)",
                        [list(row) for command in commands for row in node_rows(command)])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return n_rows


def read_commands(runs: Path) -> list[DbtCommand]:
    """The dbt commands of the build, in the order they ran (one folder each, named in that order)."""
    if not runs.is_dir():
        raise BuildLogError(f"{runs} does not exist: no Spark build has finished (make build ENGINE=spark)")
    return [read_command(folder) for folder in sorted(runs.iterdir()) if folder.is_dir()]


def copy_build(db: Path, commands: Sequence[DbtCommand], spark: Any) -> tuple[int, int]:
    """Copy the Spark build of `commands` (checked complete) into `db`; (marts, rows) copied."""
    marts = read_marts(spark, commands[-1])
    raw = spark_raw_data(spark)
    with duckdb.connect(str(db)) as con:
        n_rows = write_build(con, marts, commands, raw)
    return len(marts), n_rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spark_engine.bi_tables",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True,
                        help="the DuckDB warehouse the raw tables came from")
    parser.add_argument("--runs", type=Path, required=True,
                        help="the folder of the build's dbt artefacts, one subfolder per command")
    parser.add_argument("--target", default="spark", help="profiles.yml target (a session: default spark)")
    args = parser.parse_args(argv)
    from spark_engine.session import spark_session

    started = time.monotonic()
    try:
        with warehouse_lock(args.db, f"python -m spark_engine.bi_tables --db {args.db}"):
            commands = read_commands(args.runs)
            check_complete(commands)
            spark = spark_session(args.target)
            try:
                n_marts, n_rows = copy_build(args.db, commands, spark)
            finally:
                spark.stop()
    except (BuildLogError, CopyError, PublishError, WarehouseBusyError, duckdb.Error) as error:
        print(f"error: nothing copied into {args.db}: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    print(f"copied {n_marts} BI marts ({n_rows:,} rows) and the log of {len(commands)} dbt commands from "
          f"Spark into {args.db} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
