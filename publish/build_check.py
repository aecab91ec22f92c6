"""Which build the marts of schema bi come from, and whether that build may be exported.

dbt's hooks (dbt_project/macros/pipeline_log.sql) log every command that writes to the warehouse in schema
pipeline_log: when it started and finished, the load of raw data it started and ended with, its --vars, and
the status of every node (models, seeds and snapshots it did not run are 'not selected'). From that log an
export is allowed only when

- the latest dbt command finished (a command killed half way leaves some marts rebuilt and others not) and
  none of its nodes failed, errored or was skipped;
- that latest command is a `dbt build` (the tests that check the marts ran) and rebuilt every table of schema
  bi successfully: the marts come from one build;
- every model, seed and snapshot of the project was last built successfully, with the same --vars, from the
  raw data the warehouse holds now (same load, same row counts), and no dbt command that may have rewritten
  any of them since was cut short. Upstream models may come from earlier commands (`make bench` builds the
  layers one after the other), never from other data or settings.

Anything else is refused with the reason and the stale marts named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

LOG_SCHEMA = "pipeline_log"
BUILT_NODE_TYPES = ("model", "seed", "snapshot")
# Statuses of a node that was run and did its job ('no-op': exposures).
GOOD_STATUSES = frozenset({"success", "pass", "warn", "no-op"})
NOT_SELECTED = "not selected"
SHOWN = 4


class StaleBuildError(RuntimeError):
    """The marts of schema bi do not come from one complete, successful build; the message says why."""


@dataclass
class Invocation:
    invocation_id: str
    command: str
    started_at: datetime
    finished_at: datetime | None
    load_id_at_start: str | None
    load_id_at_end: str | None
    raw_rows_at_start: str | None
    raw_rows_at_end: str | None
    cli_vars: str | None
    results: dict[str, tuple[str, str | None, str | None, str]] = field(default_factory=dict)

    def describe(self) -> str:
        return f"dbt {self.command} {self.invocation_id[:8]} (started {self.started_at:%Y-%m-%d %H:%M:%S})"


@dataclass(frozen=True)
class Build:
    """The build an export may be made of: its latest command and the load it was built from."""

    invocation: Invocation
    load: dict[str, object] | None
    raw_rows: dict[str, int]


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = ?", [schema, table]).fetchone()[0])


def read_invocations(con: duckdb.DuckDBPyConnection) -> list[Invocation]:
    """Every logged dbt command, oldest first, with its node results."""
    if not table_exists(con, LOG_SCHEMA, "dbt_invocations"):
        raise StaleBuildError("the warehouse has no build log (pipeline_log.dbt_invocations): it was built "
                              "before builds were logged, or never; run a complete `dbt build` first")
    invocations = [Invocation(*row) for row in con.execute(f"""
        select invocation_id, command, started_at, finished_at, load_id_at_start, load_id_at_end,
               raw_rows_at_start, raw_rows_at_end, cli_vars
        from {LOG_SCHEMA}.dbt_invocations order by started_at
    """).fetchall()]
    by_id = {invocation.invocation_id: invocation for invocation in invocations}
    for invocation_id, unique_id, resource_type, schema, relation, status in con.execute(f"""
        select invocation_id, unique_id, resource_type, schema_name, relation_name, status
        from {LOG_SCHEMA}.dbt_node_results
    """).fetchall():
        by_id[invocation_id].results[unique_id] = (resource_type, schema, relation, status)
    if not invocations:
        raise StaleBuildError("the build log is empty: run a complete `dbt build` first")
    return invocations


def current_load(con: duckdb.DuckDBPyConnection) -> dict[str, object] | None:
    """The latest load of raw data (pipeline_log.raw_loads), or None when the raw tables came otherwise."""
    if not table_exists(con, LOG_SCHEMA, "raw_loads"):
        return None
    row = con.execute(f"""
        select load_id, loaded_at, source, details from {LOG_SCHEMA}.raw_loads
        order by loaded_at desc limit 1
    """).fetchone()
    if row is None:
        return None
    load_id, loaded_at, source, details = row
    return {"load_id": load_id, "loaded_at": f"{loaded_at:%Y-%m-%d %H:%M:%S} UTC", "source": source,
            **json.loads(details)}


def raw_rows_now(con: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, int]:
    return {name: int(con.execute(f"select count(*) from {name}").fetchone()[0]) for name in names
            if table_exists(con, *name.split("."))}


def shown(names: list[str]) -> str:
    return ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def bi_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [row[0] for row in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and not temporary order by table_name", [schema]).fetchall()]


def stale_marts(con: duckdb.DuckDBPyConnection, latest: Invocation, schema: str) -> list[str]:
    """Tables of schema bi the latest command did not rebuild successfully."""
    rebuilt = {relation for resource_type, node_schema, relation, status in latest.results.values()
               if resource_type in BUILT_NODE_TYPES and node_schema == schema and status == "success"}
    return [f"{schema}.{table}" for table in bi_tables(con, schema) if table not in rebuilt]


def last_builds(invocations: list[Invocation], latest: Invocation) -> dict[str, tuple[Invocation, str]]:
    """For each model, seed and snapshot of the project (as the latest command knows it), the last command
    that ran it and its status then."""
    project = [unique_id for unique_id, (resource_type, *_) in latest.results.items()
               if resource_type in BUILT_NODE_TYPES]
    found: dict[str, tuple[Invocation, str]] = {}
    for invocation in invocations:
        for unique_id in project:
            status = invocation.results.get(unique_id, (None, None, None, NOT_SELECTED))[3]
            if status != NOT_SELECTED:
                found[unique_id] = (invocation, status)
    missing = [unique_id for unique_id in project if unique_id not in found]
    if missing:
        raise StaleBuildError(f"never built: {shown(missing)}; run a complete `dbt build`")
    return found


def check_latest(latest: Invocation, stale: list[str]) -> None:
    if latest.finished_at is None:
        raise StaleBuildError(f"{latest.describe()} never finished (killed, or still running): the marts may "
                              "mix two builds; run a complete `dbt build`")
    failed = sorted(unique_id for unique_id, (*_, status) in latest.results.items()
                    if status not in GOOD_STATUSES | {NOT_SELECTED})
    if failed:
        stale_part = f"; stale marts: {shown(stale)}" if stale else ""
        raise StaleBuildError(f"{latest.describe()} did not succeed ({len(failed)} nodes failed, errored or "
                              f"were skipped: {shown(failed)}){stale_part}")
    if stale:
        raise StaleBuildError(f"{latest.describe()} did not rebuild every mart of schema bi (a --select?); "
                              f"stale marts: {shown(stale)}; run a complete `dbt build`")
    if latest.command != "build":
        raise StaleBuildError(f"the marts were last written by {latest.describe()}, which skips the tests "
                              "that check them; run `dbt build`")


def check_sources(builds: dict[str, tuple[Invocation, str]], invocations: list[Invocation],
                  load: dict[str, object] | None, rows: dict[str, int]) -> None:
    """Every node was last built successfully, with the same --vars, from the data there now."""
    unsuccessful = sorted(unique_id for unique_id, (_, status) in builds.items() if status != "success")
    if unsuccessful:
        raise StaleBuildError("not built successfully by the last command that ran them: "
                              f"{shown(unsuccessful)}; run a complete `dbt build`")
    by_id = {invocation.invocation_id: invocation for invocation, _ in builds.values()}
    contributing = sorted(by_id.values(), key=lambda invocation: invocation.started_at)
    if len({invocation.cli_vars for invocation in contributing}) > 1:
        raise StaleBuildError("the marts were built by commands with different --vars ("
                              + "; ".join(f"{inv.describe()}: {inv.cli_vars}" for inv in contributing)
                              + "); run a complete `dbt build` with the settings wanted")
    cut_short = [invocation.describe() for invocation in invocations
                 if invocation.finished_at is None and invocation.started_at >= contributing[0].started_at]
    if cut_short:
        raise StaleBuildError(f"{shown(cut_short)} never finished and may have rewritten some marts; run a "
                              "complete `dbt build`")
    load_id = None if load is None else load["load_id"]
    counts = json.dumps(rows, sort_keys=True)
    for invocation in contributing:
        seen = {invocation.load_id_at_start, invocation.load_id_at_end}
        seen_rows = {json.dumps(json.loads(text or "{}"), sort_keys=True)
                     for text in (invocation.raw_rows_at_start, invocation.raw_rows_at_end)}
        if seen != {load_id} or seen_rows != {counts}:
            when = "" if load is None else f" (now: load {str(load_id)[:8]} of {load['loaded_at']})"
            raise StaleBuildError(f"the raw tables changed during or after {invocation.describe()}{when}: "
                                  "the marts describe other data; run a complete `dbt build` on the data "
                                  "now loaded")


def check_complete_build(con: duckdb.DuckDBPyConnection, schema: str) -> Build:
    """The build behind schema `schema`, or StaleBuildError naming why it must not be exported."""
    invocations = read_invocations(con)
    latest = invocations[-1]
    check_latest(latest, stale_marts(con, latest, schema))
    builds = last_builds(invocations, latest)
    load = current_load(con)
    rows = raw_rows_now(con, sorted(json.loads(latest.raw_rows_at_end or "{}")))
    check_sources(builds, invocations, load, rows)
    return Build(latest, load, rows)
