"""python -m report.shell [DATABASE] [SQL]: a read-only SQL shell on the project's own DuckDB version.

No DuckDB command-line program comes with the project (none on the package index matches its DuckDB version,
and the file format must match), so this is the one to use. DATABASE defaults to the BI export
(exports/bi.duckdb). SQL runs the statements given and exits; with SQL on standard input (`< file.sql`) it
runs those; otherwise it reads statements interactively, each ended by ';' (`.tables`, `.quit`).

Each batch of statements opens the database, runs and closes it again, so a shell left open on
warehouse.duckdb never blocks `make build` (DuckDB lets no writer in while any reader holds the file).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

from report.locks import lock_message

EXIT_ERROR = 1
PROMPT, CONTINUATION = "sql> ", "...> "
TABLES_SQL = (
    "select schema_name || '.' || table_name as name, 'table' as kind from duckdb_tables() "
    "union all select schema_name || '.' || view_name, 'view' from duckdb_views() where not internal "
    "order by name"
)


def default_database() -> Path:
    return Path(os.environ.get("EXPORTS", "exports")) / "bi.duckdb"


def execute(database: Path, sql: str) -> None:
    """Run every statement of `sql` read-only and print each result."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        for statement in con.extract_statements(sql):
            relation = con.sql(statement.query)
            if relation is not None:
                relation.show(max_rows=200, max_width=160, null_value="NULL")
    finally:
        con.close()


def explain(error: duckdb.Error, database: Path) -> str:
    return lock_message(str(error), database) or str(error)


def interactive(database: Path) -> int:
    print(
        f"Read-only SQL on {database} (DuckDB {duckdb.__version__}). End statements with ';'. "
        ".tables lists tables, .quit or Ctrl-D leaves."
    )
    buffer: list[str] = []
    while True:
        try:
            line = input(CONTINUATION if buffer else PROMPT)
        except EOFError:
            print()
            return 0
        command = line.strip()
        if not buffer and command in {".quit", ".exit"}:
            return 0
        if not buffer and command == ".tables":
            command = TABLES_SQL + ";"
        buffer.append(command)
        if not command.endswith(";"):
            continue
        try:
            execute(database, "\n".join(buffer))
        except duckdb.Error as error:
            print(f"error: {explain(error, database)}", file=sys.stderr)
        buffer.clear()


def looks_like_database(argument: Path) -> bool:
    """A lone argument is the database when it names one, else the SQL to run on the default database."""
    return argument.is_file() or argument.suffix in {".duckdb", ".db"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m report.shell", description="Read-only SQL shell.")
    parser.add_argument(
        "database",
        nargs="?",
        type=Path,
        default=None,
        help="DuckDB file (default: $EXPORTS/bi.duckdb, the BI export)",
    )
    parser.add_argument("sql", nargs="?", help="statements to run; default: standard input or interactive")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.sql is None and args.database is not None and not looks_like_database(args.database):
        args.sql, args.database = str(args.database), None
    database = args.database or default_database()
    if not database.is_file():
        print(
            f"error: {database} does not exist (run `make run` first, or name a DuckDB file)", file=sys.stderr
        )
        return EXIT_ERROR
    if args.sql is None and sys.stdin.isatty():
        return interactive(database)
    try:
        execute(database, args.sql if args.sql is not None else sys.stdin.read())
    except duckdb.Error as error:
        print(f"error: {explain(error, database)}", file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
