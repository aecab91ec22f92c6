"""Row counts read back from a benchmark warehouse after a stage: what each stage made, as stored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb


def _quoted(relation: str) -> str:
    return ".".join(f'"{part}"' for part in relation.split("."))


def count_rows(db: Path, relations: Iterable[str]) -> dict[str, int]:
    """schema.name -> rows, for tables and views alike."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {relation: con.execute(f"select count(*) from {_quoted(relation)}").fetchone()[0]
                for relation in relations}


def tables_in_schemas(db: Path, schemas: Sequence[str]) -> list[str]:
    """schema.name of every base table in `schemas`, sorted."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and list_contains(?, table_schema) order by 1",
            [list(schemas)],
        ).fetchall()
    return [row[0] for row in rows]


def differing_rows(left: Path, right: Path, relations: Iterable[str]) -> dict[str, int]:
    """schema.name -> rows in one warehouse and not the other (either way, duplicates counted)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as left_db (read_only)")
        con.execute(f"attach '{right}' as right_db (read_only)")
        differences = {}
        for relation in relations:
            in_left, in_right = f"left_db.{_quoted(relation)}", f"right_db.{_quoted(relation)}"
            differences[relation] = con.execute(
                f"select count(*) from ((from {in_left} except all from {in_right})"
                f" union all (from {in_right} except all from {in_left}))"
            ).fetchone()[0]
    return differences


def remove_database(db: Path) -> None:
    """A DuckDB file and its write-ahead log, so the next stage run starts from nothing."""
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
