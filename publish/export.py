"""Write the marts of schema bi to Parquet and a read-only DuckDB file holding them, swapped in atomically.

Only the marts of one complete, successful build are exported (publish/build_check.py); the export's
build.json names that build and the load of raw data it was built from. Exports run one at a time per export
folder (the lock exports/bi.duckdb.lock) and per warehouse (the pipeline lock, publish/lock.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from publish.build_check import Build, StaleBuildError, check_complete_build
from publish.lock import in_use_message, warehouse_lock

BI_SCHEMA = "bi"
BUILDS_DIR = "builds"
CURRENT_LINK = "current"
DUCKDB_FILE = "bi.duckdb"
MANIFEST_FILE = "build.json"
# Export ids in the order they became current, newest last: what --keep counts, so that a folder left by a
# failed export never pushes a published one out.
HISTORY_FILE = "published.json"
TEMPORARY_MARK = ".tmp-"
# Schema of bi.duckdb holding the marts' rows; the views BI tools query sit in its main schema.
DATA_SCHEMA = "data"
# The documented floor of min_cell_size (docs/bi.md; dbt_project/macros/run_guards.sql checks it too).
MIN_CELL_SIZE_FLOOR = 11
SMALL_CELLS_FLAG = "--unsafe-allow-min-cell-size-below-11"
# Leading characters that make a spreadsheet evaluate a cell as a formula (OWASP CSV injection guidance).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class PublishError(RuntimeError):
    """The warehouse cannot be exported as it is; the message names what is wrong."""


def check_min_cell_size(min_cell_size: int, allow_small_cells: bool) -> None:
    """The build's threshold again, at the door: counts from 1 to 10 leave only with the explicit flag."""
    if min_cell_size < MIN_CELL_SIZE_FLOOR and not allow_small_cells:
        raise PublishError(f"the marts were built with min_cell_size {min_cell_size}, below the floor of "
                           f"{MIN_CELL_SIZE_FLOOR}: counts from {min_cell_size} to {MIN_CELL_SIZE_FLOOR - 1} "
                           f"would be published; nothing exported ({SMALL_CELLS_FLAG} only if a privacy "
                           "review allows it)")


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    comment: str | None


@dataclass(frozen=True)
class Mart:
    name: str
    comment: str | None
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Export:
    export_id: str
    build_id: str
    folder: Path
    marts: tuple[str, ...]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def qualified(schema: str, table: str) -> str:
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def read_marts(con: duckdb.DuckDBPyConnection, schema: str = BI_SCHEMA) -> tuple[Mart, ...]:
    """Every table of `schema` with its columns and descriptions, in name order."""
    tables = con.execute(
        "select table_name, comment from duckdb_tables() "
        "where schema_name = ? and not temporary order by table_name",
        [schema],
    ).fetchall()
    if not tables:
        raise PublishError(f"the warehouse has no tables in schema {schema}: run `dbt build` first")
    columns = con.execute(
        "select table_name, column_name, data_type, comment from duckdb_columns() "
        "where schema_name = ? order by table_name, column_index",
        [schema],
    ).fetchall()
    by_table: dict[str, list[Column]] = {}
    for table_name, column_name, data_type, comment in columns:
        by_table.setdefault(table_name, []).append(Column(column_name, data_type, comment))
    return tuple(Mart(name, comment, tuple(by_table[name])) for name, comment in tables)


def read_build(con: duckdb.DuckDBPyConnection, schema: str = BI_SCHEMA) -> tuple[str, int]:
    """Build id and suppression threshold from the one row of <schema>.build_info."""
    try:
        rows = con.execute(
            f"select build_id, min_cell_size from {qualified(schema, 'build_info')}"
        ).fetchall()
    except duckdb.CatalogException as error:
        raise PublishError(f"{schema}.build_info is missing: run `dbt build` first ({error})") from error
    if len(rows) != 1:
        raise PublishError(f"{schema}.build_info must hold exactly one row, found {len(rows)}")
    build_id, min_cell_size = rows[0]
    return str(build_id), int(min_cell_size)


def check_small_counts(con: duckdb.DuckDBPyConnection, marts: tuple[Mart, ...], min_cell_size: int,
                       schema: str = BI_SCHEMA) -> None:
    """Refuse to export a count column (n_*) holding a value from 1 to the threshold - 1 (a zero, an empty
    group, is published): the last line of defence should a build have skipped its tests."""
    for mart in marts:
        for column in (column for column in mart.columns if column.name.startswith("n_")):
            (n_small,) = con.execute(
                f"select count(*) from {qualified(schema, mart.name)} "
                f"where {quote_identifier(column.name)} > 0 and {quote_identifier(column.name)} < ?",
                [min_cell_size],
            ).fetchone()
            if n_small:
                raise PublishError(
                    f"{schema}.{mart.name}.{column.name}: {n_small} row(s) below min_cell_size "
                    f"{min_cell_size}; nothing exported"
                )


def escaped_column_sql(column: Column, table: str) -> str:
    """Select expression exporting a column with spreadsheet formulas neutralised: text starting with a
    formula character gets a leading apostrophe, which spreadsheets read as 'this cell is text'."""
    name = quote_identifier(column.name)
    if column.data_type == "VARCHAR":
        prefixes = ", ".join(quote_literal(prefix) for prefix in FORMULA_PREFIXES)
        return f"case when left({name}, 1) in ({prefixes}) then '''' || {name} else {name} end as {name}"
    if "VARCHAR" in column.data_type:
        raise PublishError(f"{table}.{column.name}: nested text ({column.data_type}) cannot be escaped")
    return name


def write_parquet(con: duckdb.DuckDBPyConnection, mart: Mart, folder: Path, schema: str = BI_SCHEMA) -> int:
    """Write one mart to <folder>/<mart>.parquet, read-only; returns its row count."""
    select_list = ", ".join(escaped_column_sql(column, f"{schema}.{mart.name}") for column in mart.columns)
    path = folder / f"{mart.name}.parquet"
    target = quote_literal(str(path))
    source = qualified(schema, mart.name)
    con.execute(f"copy (select {select_list} from {source}) to {target} (format parquet)")
    (n_rows,) = con.execute(f"select count(*) from read_parquet({target})").fetchone()
    path.chmod(0o444)
    return int(n_rows)


def export_folder(con: duckdb.DuckDBPyConnection, marts: tuple[Mart, ...], builds: Path, export_id: str,
                  manifest: dict[str, object]) -> Path:
    """Write every mart and the manifest under a temporary name, then rename the finished folder into place:
    a folder under builds/ without '.tmp-' in its name is always complete."""
    staging = builds / f"{export_id}{TEMPORARY_MARK}{os.getpid()}"
    staging.mkdir()
    try:
        tables = {mart.name: write_parquet(con, mart, staging) for mart in marts}
        (staging / MANIFEST_FILE).write_text(json.dumps({**manifest, "tables": tables}, indent=2) + "\n")
        folder = builds / export_id
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def write_view_database(path: Path, marts: tuple[Mart, ...], folder: Path) -> None:
    """A DuckDB file holding every mart's rows (copied from its Parquet file, so both carry the same escaped
    values) and one view per mart over them, with the marts' descriptions. The rows are inside the file, so
    a BI connection needs no access to any other file (docs/bi.md: enable_external_access = false)."""
    con = duckdb.connect(str(path))
    try:
        con.execute(f"create schema {DATA_SCHEMA}")
        for mart in marts:
            view = quote_identifier(mart.name)
            table = qualified(DATA_SCHEMA, mart.name)
            parquet = quote_literal(str(folder / f"{mart.name}.parquet"))
            con.execute(f"create table {table} as select * from read_parquet({parquet})")
            con.execute(f"create view {view} as select * from {table}")
            if mart.comment:
                con.execute(f"comment on view {view} is {quote_literal(mart.comment)}")
            for column in (column for column in mart.columns if column.comment):
                target = f"{view}.{quote_identifier(column.name)}"
                con.execute(f"comment on column {target} is {quote_literal(column.comment)}")
        con.execute("checkpoint")
    finally:
        con.close()


def replace_database(out: Path, marts: tuple[Mart, ...], folder: Path) -> Path:
    """Build the view database under a temporary name, make it read-only and rename it over the old one:
    readers holding the old file open keep reading it, new readers open the new one."""
    database = out / DUCKDB_FILE
    temporary = out / f"{DUCKDB_FILE}{TEMPORARY_MARK}{os.getpid()}"
    try:
        write_view_database(temporary, marts, folder)
        temporary.chmod(0o444)
        os.replace(temporary, database)
    finally:
        # The file, and the WAL DuckDB may leave beside it when writing fails.
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return database


def replace_link(link: Path, target: str) -> None:
    """Point symlink `link` at `target` atomically: a new link under a temporary name renamed over the old."""
    temporary = link.with_name(f"{link.name}{TEMPORARY_MARK}{os.getpid()}")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(target)
    os.replace(temporary, link)


def current_export(out: Path) -> str | None:
    """The export id the `current` link points at, or None."""
    link = out / CURRENT_LINK
    return Path(os.readlink(link)).name if link.is_symlink() else None


def read_history(out: Path) -> list[str]:
    """Export ids in the order they became current. An export folder made before the history was kept starts
    it with its current export."""
    path = out / HISTORY_FILE
    if path.is_file():
        return list(json.loads(path.read_text()))
    current = current_export(out)
    return [] if current is None else [current]


def write_history(out: Path, history: list[str]) -> None:
    temporary = out / f"{HISTORY_FILE}{TEMPORARY_MARK}{os.getpid()}"
    temporary.write_text(json.dumps(history, indent=2) + "\n")
    os.replace(temporary, out / HISTORY_FILE)


def remove_leftovers(out: Path) -> list[str]:
    """Remove what exports that failed or were killed left behind (temporary folders and files). Runs under
    the export folder's lock, so no other export is writing any of them."""
    removed = []
    for folder in (out, out / BUILDS_DIR):
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            if TEMPORARY_MARK not in entry.name:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry.relative_to(out).as_posix())
    return removed


def prune_builds(builds: Path, history: list[str], keep: int) -> list[str]:
    """Delete every export folder but the `keep` most recently published ones (the current one among them),
    folders of failed exports included; returns the names deleted."""
    kept = set(history[-keep:])
    removed = sorted(entry.name for entry in builds.iterdir() if entry.is_dir() and entry.name not in kept)
    for name in removed:
        shutil.rmtree(builds / name)
    return removed


def open_warehouse(warehouse: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        message = in_use_message(warehouse, error)
        if message is None:
            raise
        raise PublishError(message) from error


def build_manifest(export_id: str, build_id: str, published_at: datetime, min_cell_size: int,
                   build: Build) -> dict[str, object]:
    """What build.json says of the export: the build, and the raw data that build was made from."""
    invocation = build.invocation
    return {
        "export_id": export_id, "build_id": build_id, "published_at": published_at.isoformat(),
        "min_cell_size": min_cell_size,
        "dbt_build": {"invocation_id": invocation.invocation_id, "command": invocation.command,
                      "started_at": f"{invocation.started_at:%Y-%m-%d %H:%M:%S} UTC",
                      "finished_at": f"{invocation.finished_at:%Y-%m-%d %H:%M:%S} UTC",
                      "vars": json.loads(invocation.cli_vars or "{}")},
        "load": build.load,
        "raw_rows": build.raw_rows,
    }


def publish(warehouse: Path, out: Path, keep: int = 2, now: datetime | None = None,
            allow_small_cells: bool = False) -> Export:
    """Export schema bi of `warehouse` into `out` and make it the current build."""
    if keep < 1:
        raise PublishError(f"--keep must be at least 1 (the build being published), got {keep}")
    if not warehouse.is_file():
        raise PublishError(f"warehouse {warehouse} does not exist")
    out.mkdir(parents=True, exist_ok=True)
    command = f"python -m publish --db {warehouse} --out {out}"
    with warehouse_lock(warehouse, command), warehouse_lock(out / DUCKDB_FILE, command):
        remove_leftovers(out)
        return publish_locked(warehouse, out, keep, now or datetime.now(UTC), allow_small_cells)


def publish_locked(warehouse: Path, out: Path, keep: int, published_at: datetime,
                   allow_small_cells: bool) -> Export:
    builds = out / BUILDS_DIR
    builds.mkdir(exist_ok=True)
    history = read_history(out)
    con = open_warehouse(warehouse)
    try:
        build = check_complete_build(con, BI_SCHEMA)
        build_id, min_cell_size = read_build(con)
        check_min_cell_size(min_cell_size, allow_small_cells)
        marts = read_marts(con)
        check_small_counts(con, marts, min_cell_size)
        export_id = f"{published_at:%Y%m%dT%H%M%S%fZ}-{build_id[:8]}"
        manifest = build_manifest(export_id, build_id, published_at, min_cell_size, build)
        folder = export_folder(con, marts, builds, export_id, manifest)
    finally:
        con.close()
    try:
        replace_database(out, marts, folder)
    except BaseException:
        # Never published: nothing may keep it, and a later --keep must not count it.
        shutil.rmtree(folder, ignore_errors=True)
        raise
    history.append(export_id)
    write_history(out, history)
    replace_link(out / CURRENT_LINK, f"{BUILDS_DIR}/{export_id}")
    prune_builds(builds, history, keep)
    return Export(export_id, build_id, folder, tuple(mart.name for mart in marts))


def export_status(warehouse: Path, out: Path) -> str:
    """One line for `make build`: whether BI tools read the warehouse's latest build, what to do if not."""
    exported = current_export(out)
    reading = "nothing is exported yet" if exported is None else f"BI tools read export {exported}"
    try:
        with contextlib.closing(open_warehouse(warehouse)) as con:
            build = check_complete_build(con, BI_SCHEMA)
    except StaleBuildError as error:
        return f"warning: the export cannot be updated from this warehouse ({error}); {reading}"
    build_id = build.invocation.invocation_id
    if exported is not None and exported.endswith(build_id[:8]):
        return f"the export is up to date with build {build_id[:8]}"
    return f"note: build {build_id[:8]} is not exported yet ({reading}); `make publish` exports it"
