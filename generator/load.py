"""Load a real MIMIC-IV download into the warehouse's raw tables.

    python -m generator.load MIMIC_DIR [--db PATH]

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
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import duckdb

from generator.load_csv import LoadError, StagedFile, cast_select_sql, error_reason, find_source, stage_file
from generator.schema import RAW_SCHEMAS, RAW_TABLES, TRUTH_SCHEMA, RawTable

EXIT_DATA_ERROR = 1
EXIT_USAGE = 2


class _OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line on stderr (exit 2), like the loader's data errors."""

    def error(self, message: str) -> NoReturn:
        usage = self.format_usage().strip().removeprefix("usage: ")
        self.exit(EXIT_USAGE, f"error: {message} (usage: {usage})\n")


def build_parser(default_db: str) -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m generator.load",
        description="Load a MIMIC-IV download (PhysioNet layout) into the warehouse's raw tables.",
    )
    parser.add_argument("mimic_dir", type=Path, metavar="MIMIC_DIR",
                        help="release folder holding hosp/ and icu/ (.csv.gz or .csv files)")
    parser.add_argument("--db", type=Path, default=Path(default_db),
                        help="DuckDB warehouse file (default: $WAREHOUSE, else warehouse.duckdb)")
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


def replace_raw_tables(con: duckdb.DuckDBPyConnection, staged: Sequence[StagedFile]) -> bool:
    """Swap in the staged tables and drop the synthetic truth, all or nothing.

    Returns whether a synthetic_truth schema was dropped.
    """
    had_truth = con.execute(
        "select count(*) > 0 from information_schema.schemata where schema_name = ?", [TRUTH_SCHEMA]
    ).fetchone()[0]
    con.begin()
    try:
        for schema in RAW_SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        for item in staged:
            con.execute(f"drop table if exists {item.table.qualified_name}")
            con.execute(item.table.create_sql())
            con.execute(f"insert into {item.table.qualified_name} {cast_select_sql(item)}")
        con.execute(f"drop schema if exists {TRUTH_SCHEMA} cascade")
        con.commit()
    except duckdb.Error:
        con.rollback()
        raise
    return bool(had_truth)


def load(mimic_dir: Path, db: Path) -> tuple[list[StagedFile], bool]:
    """Load `mimic_dir` into `db`; returns the loaded files and whether synthetic truth was removed."""
    try:
        con = duckdb.connect(str(db))
    except duckdb.Error as error:
        raise LoadError(f"cannot open the warehouse {db}: {error_reason(str(error))}") from error
    try:
        staged = stage_all(con, mimic_dir, RAW_TABLES)
        dropped_truth = replace_raw_tables(con, staged)
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
    args = parse_args(sys.argv[1:] if argv is None else argv, os.environ.get("WAREHOUSE", "warehouse.duckdb"))
    try:
        staged, dropped_truth = load(args.mimic_dir, args.db)
    except LoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_DATA_ERROR
    print(summary(args.mimic_dir, args.db, staged, dropped_truth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
