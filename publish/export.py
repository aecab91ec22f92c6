"""Write the marts of schema bi to Parquet and a read-only DuckDB file of views, swapped in atomically."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

BI_SCHEMA = "bi"
BUILDS_DIR = "builds"
CURRENT_LINK = "current"
DUCKDB_FILE = "bi.duckdb"
MANIFEST_FILE = "build.json"
# Leading characters that make a spreadsheet evaluate a cell as a formula (OWASP CSV injection guidance).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class PublishError(RuntimeError):
    """The warehouse cannot be exported as it is; the message names what is wrong."""


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
    """Refuse to export a count column (n_*) holding a value below the threshold: the last line of defence
    should a build have skipped its tests."""
    for mart in marts:
        for column in (column for column in mart.columns if column.name.startswith("n_")):
            (n_small,) = con.execute(
                f"select count(*) from {qualified(schema, mart.name)} "
                f"where {quote_identifier(column.name)} < ?",
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
    """Write one mart to <folder>/<mart>.parquet; returns its row count."""
    select_list = ", ".join(escaped_column_sql(column, f"{schema}.{mart.name}") for column in mart.columns)
    target = quote_literal(str(folder / f"{mart.name}.parquet"))
    source = qualified(schema, mart.name)
    con.execute(f"copy (select {select_list} from {source}) to {target} (format parquet)")
    (n_rows,) = con.execute(f"select count(*) from read_parquet({target})").fetchone()
    return int(n_rows)


def export_folder(con: duckdb.DuckDBPyConnection, marts: tuple[Mart, ...], builds: Path, export_id: str,
                  manifest: dict[str, object]) -> Path:
    """Write every mart and the manifest under a temporary name, then rename the finished folder into place:
    a folder under builds/ without '.tmp-' in its name is always complete."""
    staging = builds / f"{export_id}.tmp-{os.getpid()}"
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
    """A DuckDB file holding one view per mart over its Parquet file, with the marts' descriptions."""
    con = duckdb.connect(str(path))
    try:
        for mart in marts:
            view = quote_identifier(mart.name)
            parquet = quote_literal(str((folder / f"{mart.name}.parquet").resolve()))
            con.execute(f"create view {view} as select * from read_parquet({parquet})")
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
    temporary = out / f"{DUCKDB_FILE}.tmp-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    try:
        write_view_database(temporary, marts, folder)
        temporary.chmod(0o444)
        os.replace(temporary, database)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return database


def replace_link(link: Path, target: str) -> None:
    """Point symlink `link` at `target` atomically: a new link under a temporary name renamed over the old."""
    temporary = link.with_name(f"{link.name}.tmp-{os.getpid()}")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(target)
    os.replace(temporary, link)


def prune_builds(builds: Path, keep: int, current: str) -> list[str]:
    """Delete all but the `keep` newest finished export folders, never the current one; returns the names
    deleted. Export ids start with their UTC time, so name order is age order."""
    finished = sorted(
        entry.name for entry in builds.iterdir() if entry.is_dir() and ".tmp-" not in entry.name
    )
    removed = [name for name in finished[: max(len(finished) - keep, 0)] if name != current]
    for name in removed:
        shutil.rmtree(builds / name)
    return removed


def publish(warehouse: Path, out: Path, keep: int = 2, now: datetime | None = None) -> Export:
    """Export schema bi of `warehouse` into `out` and make it the current build."""
    if keep < 1:
        raise PublishError(f"--keep must be at least 1 (the build being published), got {keep}")
    if not warehouse.is_file():
        raise PublishError(f"warehouse {warehouse} does not exist")
    published_at = now or datetime.now(UTC)
    builds = out / BUILDS_DIR
    builds.mkdir(parents=True, exist_ok=True)

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        build_id, min_cell_size = read_build(con)
        marts = read_marts(con)
        check_small_counts(con, marts, min_cell_size)
        export_id = f"{published_at:%Y%m%dT%H%M%S%fZ}-{build_id[:8]}"
        manifest = {"export_id": export_id, "build_id": build_id, "published_at": published_at.isoformat(),
                    "min_cell_size": min_cell_size}
        folder = export_folder(con, marts, builds, export_id, manifest)
    finally:
        con.close()

    replace_database(out, marts, folder)
    replace_link(out / CURRENT_LINK, f"{BUILDS_DIR}/{export_id}")
    prune_builds(builds, keep, export_id)
    return Export(export_id, build_id, folder, tuple(mart.name for mart in marts))
