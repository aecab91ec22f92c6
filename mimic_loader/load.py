"""Load a real MIMIC-IV download into the warehouse's raw tables.

    python -m mimic_loader MIMIC_DIR [--db PATH] [--allow-shrink]

MIMIC_DIR is a release folder in PhysioNet's layout (hosp/patients.csv.gz, hosp/admissions.csv.gz,
hosp/diagnoses_icd.csv.gz, hosp/d_icd_diagnoses.csv.gz, icu/icustays.csv.gz; plain .csv files are accepted
too). Each file must have exactly the header of its table in generator/schema.py, and every value must fit its
column's type; the first problem stops the load with one line on stderr naming the file, the line and the
column, e.g.

    error: hosp/admissions.csv.gz line 17, column admittime: '2180-13-45 10:00:00' is not a timestamp ...

Exit codes: 0 loaded, 1 the data cannot be loaded, 2 bad arguments (unknown option, missing folder).

All files are read and checked into temporary tables first; only then, in one transaction, are the raw tables
replaced and the synthetic_truth schema dropped (real data has no synthetic truth). Any failure leaves the
warehouse exactly as it was. Other tables and schemas, such as dbt's outputs, are not touched.

What the loader accepts and refuses, and why:
- Rows are loaded exactly as given and never dropped: duplicates, ICD codes with a dot or in lower case, text
  that looks like a spreadsheet formula are row-level problems that the dbt models report, not the loader.
- Windows line endings (CRLF) and a UTF-8 byte order mark are accepted: both are common after a file passed
  through a spreadsheet or a Windows tool, and neither changes a value.
- Blank lines are not records and are skipped, so a file ending in empty lines loads.
- A header-only file loads as an empty table; a 0-byte file is an error, since it has no header to check.
- Text that is not UTF-8 (e.g. latin-1) is an error naming the file and line, rather than a load with
  replacement characters: no silent corruption of values.
- Values are checked strictly against their type: integers are plain digits within range, timestamps are
  exactly YYYY-MM-DD HH:MM:SS, dates YYYY-MM-DD, and VARCHAR(n) values hold at most n characters.
- An empty field, quoted ("") or not, is NULL; an empty field in a NOT NULL column is an error.
- A folder holding both a .csv.gz and a .csv for the same table is an error: the loader does not pick one.
- A file that would empty a raw table, or leave it with less than MIN_KEPT_SHARE of the rows the previous
  load of real data gave it, is an error unless --allow-shrink is given: a header-only or cut-short export
  must not silently replace a hospital's data. Replacing synthetic data (schema synthetic_truth) is exempt
  from the share, not from emptying a table.
- Each load is recorded in pipeline_log.raw_loads (files, sizes, SHA-256, row counts; generator/load_log.py).
- The load holds the warehouse's pipeline lock (publish/lock.py): it never runs beside another load, build or
  export of the same warehouse.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import duckdb

from generator.load_log import record_load
from generator.schema import RAW_SCHEMAS, RAW_TABLES, TRUTH_SCHEMA, RawTable
from mimic_loader.csv_files import (
    LoadError,
    StagedFile,
    cast_select_sql,
    error_reason,
    find_source,
    stage_file,
)
from publish.lock import WarehouseBusyError, in_use_message, warehouse_lock

EXIT_DATA_ERROR = 1
EXIT_USAGE = 2
# A reload keeping less than this share of a table's rows is taken for a broken export: MIMIC-IV releases
# and hospital extracts grow or shift a little, they do not lose a quarter of a table.
MIN_KEPT_SHARE = 0.75


class _OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line on stderr (exit 2), like the loader's data errors."""

    def error(self, message: str) -> NoReturn:
        usage = self.format_usage().strip().removeprefix("usage: ")
        self.exit(EXIT_USAGE, f"error: {message} (usage: {usage})\n")


def build_parser(default_db: str) -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m mimic_loader",
        description="Load a MIMIC-IV download (PhysioNet layout) into the warehouse's raw tables.",
    )
    parser.add_argument("mimic_dir", type=Path, metavar="MIMIC_DIR",
                        help="release folder holding hosp/ and icu/ (.csv.gz or .csv files)")
    parser.add_argument("--db", type=Path, default=Path(default_db),
                        help="DuckDB warehouse file (default: $WAREHOUSE, else warehouse.duckdb)")
    parser.add_argument("--allow-shrink", action="store_true",
                        help=f"load files that empty a raw table or keep less than {MIN_KEPT_SHARE:.0%} of "
                             "its rows (refused by default)")
    return parser


def parse_args(argv: Sequence[str], default_db: str) -> argparse.Namespace:
    parser = build_parser(default_db)
    args = parser.parse_args(argv)
    if not args.mimic_dir.is_dir():
        parser.error(f"MIMIC_DIR {args.mimic_dir} is not a directory")
    if not args.db.parent.is_dir():
        parser.error(f"the folder of --db {args.db} does not exist")
    return args


def stage_all(con: duckdb.DuckDBPyConnection, mimic_dir: Path,
              tables: Sequence[RawTable]) -> list[StagedFile]:
    """Every table read and checked, in temporary tables, before anything in the warehouse changes."""
    sources = [find_source(mimic_dir, table) for table in tables]
    return [stage_file(con, path, label, table) for (path, label), table in zip(sources, tables, strict=True)]


def has_truth(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute(
        "select count(*) > 0 from information_schema.schemata where schema_name = ?", [TRUTH_SCHEMA]
    ).fetchone()[0])


def current_rows(con: duckdb.DuckDBPyConnection, table: RawTable) -> int | None:
    """Rows of the raw table now in the warehouse, or None when there is none."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?", [table.schema, table.name]
    ).fetchone()[0]
    if not exists:
        return None
    return int(con.execute(f"select count(*) from {table.qualified_name}").fetchone()[0])


def shrink_problems(con: duckdb.DuckDBPyConnection, staged: Sequence[StagedFile]) -> list[str]:
    """Why loading `staged` would lose data the warehouse holds: tables emptied, or (over real data) cut to
    less than MIN_KEPT_SHARE of their rows."""
    synthetic = has_truth(con)
    problems = []
    for item in staged:
        before = current_rows(con, item.table)
        if not before:
            continue
        if item.rows == 0:
            problems.append(f"{item.label} has no rows and would empty {item.table.qualified_name} "
                            f"({before:,} rows)")
        elif not synthetic and item.rows < MIN_KEPT_SHARE * before:
            problems.append(f"{item.label} has {item.rows:,} rows where {item.table.qualified_name} holds "
                            f"{before:,} ({1 - item.rows / before:.0%} fewer)")
    return problems


def load_details(mimic_dir: Path, staged: Sequence[StagedFile]) -> dict[str, object]:
    return {"folder": str(mimic_dir.resolve()), "files": [
        {"table": item.table.qualified_name, "file": item.label, "rows": item.rows, "bytes": item.size_bytes,
         "sha256": item.sha256} for item in staged
    ]}


def replace_raw_tables(con: duckdb.DuckDBPyConnection, mimic_dir: Path, staged: Sequence[StagedFile]) -> bool:
    """Swap in the staged tables, record the load and drop the synthetic truth, all or nothing.

    Returns whether a synthetic_truth schema was dropped.
    """
    had_truth = has_truth(con)
    con.begin()
    try:
        for schema in RAW_SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        for item in staged:
            con.execute(f"drop table if exists {item.table.qualified_name}")
            con.execute(item.table.create_sql())
            con.execute(f"insert into {item.table.qualified_name} {cast_select_sql(item)}")
        con.execute(f"drop schema if exists {TRUTH_SCHEMA} cascade")
        record_load(con, "mimic-iv files", load_details(mimic_dir, staged))
        con.commit()
    except duckdb.Error:
        # The error that stopped the load is the one to report (a full disk, say); a failing rollback on a
        # connection that error has broken would only hide it, and DuckDB discards the transaction anyway.
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        raise
    return had_truth


def load(mimic_dir: Path, db: Path, allow_shrink: bool = False) -> tuple[list[StagedFile], bool]:
    """Load `mimic_dir` into `db`; returns the loaded files and whether synthetic truth was removed."""
    try:
        con = duckdb.connect(str(db))
    except duckdb.Error as error:
        raise LoadError(in_use_message(db, error)
                        or f"cannot open the warehouse {db}: {error_reason(str(error))}") from error
    try:
        staged = stage_all(con, mimic_dir, RAW_TABLES)
        problems = [] if allow_shrink else shrink_problems(con, staged)
        if problems:
            raise LoadError("; ".join(problems)
                            + "; nothing was changed (pass --allow-shrink to load it anyway)")
        dropped_truth = replace_raw_tables(con, mimic_dir, staged)
    except duckdb.Error as error:
        reason = error_reason(str(error))
        raise LoadError(f"loading into {db} failed, nothing was changed: {reason}") from error
    finally:
        con.close()
    return staged, dropped_truth


def summary(mimic_dir: Path, db: Path, staged: Sequence[StagedFile], dropped_truth: bool) -> str:
    width = max(len(item.table.qualified_name) for item in staged)
    lines = [f"loaded {mimic_dir} into {db}"]
    lines += [f"  {item.table.qualified_name:<{width}}  {item.rows:>12,} rows  from {item.label}"
              for item in staged]
    if dropped_truth:
        lines.append(f"  dropped schema {TRUTH_SCHEMA} (it describes synthetic data only)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(arguments, os.environ.get("WAREHOUSE", "warehouse.duckdb"))
    try:
        with warehouse_lock(args.db, "python -m mimic_loader " + " ".join(arguments)):
            staged, dropped_truth = load(args.mimic_dir, args.db, args.allow_shrink)
    except (LoadError, WarehouseBusyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_DATA_ERROR
    print(summary(args.mimic_dir, args.db, staged, dropped_truth))
    return 0

