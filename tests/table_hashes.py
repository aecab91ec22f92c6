"""Order-independent content hashes of warehouse tables, for tests that compare builds."""

from __future__ import annotations

from pathlib import Path

import duckdb

# Columns that differ between two builds of the same input by design, as their descriptions say.
NONDETERMINISTIC_COLUMNS = {
    "marts.cluster_evaluation": {"fit_seconds"},
    "bi.build_info": {"build_id", "built_at"},
    "bi.segment_transitions": {"previous_build_id", "current_build_id"},
}


def table_hashes(db: Path, schemas: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content hash of every table in `schemas`, without the columns
    that are non-deterministic by design. Each row is hashed as JSON with its column names, so a renamed
    column changes the hash."""
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute("""
            select
                tables.schema_name || '.' || tables.table_name,
                list(columns.column_name order by columns.column_index)
            from duckdb_tables() as tables
            inner join duckdb_columns() as columns
                using (database_name, schema_name, table_name)
            where list_contains(?, tables.schema_name)
            group by all
        """, [list(schemas)]).fetchall()
        hashes = {}
        for table, names in columns:
            kept = [name for name in names if name not in NONDETERMINISTIC_COLUMNS.get(table, set())]
            selected = ", ".join(f'"{name}"' for name in kept)
            count, digest = con.execute(f"""
                select count(*), md5(coalesce(string_agg(row_text, chr(10) order by row_text), ''))
                from (select to_json(kept_columns)::varchar as row_text
                      from (select {selected} from {table}) as kept_columns)
            """).fetchone()
            hashes[table] = (int(count), str(digest))
    return hashes
