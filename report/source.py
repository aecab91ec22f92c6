"""The BI export as the report reads it: every view of exports/bi.duckdb as a DataFrame, with its comments."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

DUCKDB_FILE = "bi.duckdb"
CURRENT_LINK = "current"
MANIFEST_FILE = "build.json"


class ExportMissingError(RuntimeError):
    """No usable export: the message says which command makes one."""


@dataclass(frozen=True)
class Export:
    """The tables of one export, their descriptions and its manifest."""

    folder: Path
    tables: dict[str, pd.DataFrame]
    table_comments: dict[str, str]
    column_comments: dict[str, dict[str, str]]
    manifest: dict[str, object] = field(default_factory=dict)

    @property
    def min_cell_size(self) -> int:
        return int(self.manifest.get("min_cell_size") or self.tables["build_info"]["min_cell_size"].iloc[0])

    def table(self, name: str, columns: Iterable[str] = ()) -> pd.DataFrame | None:
        """The table when the export has it with all `columns`, else None (an older or newer build)."""
        frame = self.tables.get(name)
        if frame is None or not set(columns) <= set(frame.columns):
            return None
        return frame

    def value(self, table: str, column: str) -> object | None:
        """The single value of a one-row table's column, None when absent or NULL."""
        frame = self.table(table, [column])
        if frame is None or frame.empty or pd.isna(frame[column].iloc[0]):
            return None
        return frame[column].iloc[0]


def read_export(folder: Path) -> Export:
    """Read every view of <folder>/bi.duckdb; the views point at the Parquet files of the current export."""
    database = folder / DUCKDB_FILE
    if not database.is_file():
        raise ExportMissingError(f"{database} does not exist: run `make publish` (or `make run`) first")
    con = duckdb.connect(str(database), read_only=True)
    try:
        views = con.execute(
            "select view_name, comment from duckdb_views() where not internal order by view_name"
        ).fetchall()
        tables = {name: con.sql(f'select * from "{name}"').df() for name, _ in views}
        columns = con.execute(
            "select table_name, column_name, comment from duckdb_columns() "
            "where not internal and comment is not null"
        ).fetchall()
    finally:
        con.close()
    column_comments: dict[str, dict[str, str]] = {}
    for table_name, column_name, comment in columns:
        column_comments.setdefault(table_name, {})[column_name] = comment
    manifest_path = folder / CURRENT_LINK / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    return Export(
        folder=folder,
        tables=tables,
        table_comments={name: comment for name, comment in views if comment},
        column_comments=column_comments,
        manifest=manifest,
    )
