"""The record of each load of raw data, in pipeline_log.raw_loads, written in the load's own transaction.

dbt's on-run-start and on-run-end hooks (dbt_project/macros/pipeline_log.sql) note the latest load when a
build starts and ends, and python -m publish copies the load of the build it exports into the export's
build.json, so every export says which data it was built from: the files with their sizes and SHA-256, or the
generator's version, size and seed, with the row count of every raw table.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

import duckdb

LOG_SCHEMA = "pipeline_log"
RAW_LOADS = f"{LOG_SCHEMA}.raw_loads"


def record_load(con: duckdb.DuckDBPyConnection, source: str, details: Mapping[str, object]) -> str:
    """Add a load to pipeline_log.raw_loads (inside the caller's transaction); returns its id."""
    con.execute(f"create schema if not exists {LOG_SCHEMA}")
    con.execute(f"""
        create table if not exists {RAW_LOADS} (
            load_id varchar not null,
            loaded_at timestamp not null,
            source varchar not null,
            details varchar not null
        )
    """)
    load_id = uuid.uuid4().hex
    con.execute(f"insert into {RAW_LOADS} values (?, current_timestamp at time zone 'UTC', ?, ?)",
                [load_id, source, json.dumps(details, sort_keys=True)])
    return load_id
