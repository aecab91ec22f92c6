"""The record of a Spark build in the DuckDB warehouse's build log (schema pipeline_log), from dbt's own
artefacts: the run_results.json and manifest.json of each dbt command of the build.

On DuckDB, dbt's hooks log every command as it runs (dbt_project/macros/pipeline_log.sql). A Spark build's
hooks cannot (the log lives in the DuckDB file), so `python -m spark_engine.bi_tables` logs its commands when
it copies their BI marts into the DuckDB file, with the same rows the hooks would have written: when each
command started and finished, the load of raw data and the raw row counts it built from, its --vars, and the
status of every node, 'not selected' for the models, seeds and snapshots it did not run. python -m publish
then judges a Spark build by the same rules as a DuckDB build (publish/build_check.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from publish.build_check import BUILT_NODE_TYPES, GOOD_STATUSES, NOT_SELECTED

RUN_RESULTS_FILE = "run_results.json"
MANIFEST_FILE = "manifest.json"
# The manifest sections holding the nodes a command reports on (tests and seeds are among `nodes`).
NODE_SECTIONS = ("nodes", "unit_tests", "exposures")
# Results the hooks never see: the hooks themselves.
UNLOGGED_TYPES = frozenset({"operation"})
# The var letting a build publish counts below the floor (small_cells_override_var() of run_guards.sql).
SMALL_CELLS_OVERRIDE_VAR = "unsafe_allow_min_cell_size_below_11"


class BuildLogError(ValueError):
    """The dbt commands given are not one complete, successful build; the message says why."""


@dataclass(frozen=True)
class DbtCommand:
    """One dbt command as its artefacts describe it."""

    run_results: Mapping[str, Any]
    manifest: Mapping[str, Any]

    @property
    def invocation_id(self) -> str:
        return str(self.run_results["metadata"]["invocation_id"])

    @property
    def which(self) -> str:
        return str(self.run_results["args"]["which"])

    @property
    def cli_vars(self) -> dict[str, Any]:
        return dict(self.run_results["args"].get("vars") or {})

    @property
    def started_at(self) -> datetime:
        return utc_timestamp(self.run_results["metadata"]["invocation_started_at"])

    @property
    def finished_at(self) -> datetime:
        # dbt writes run_results.json once every node has run, as the hooks' on-run-end notes its end.
        return utc_timestamp(self.run_results["metadata"]["generated_at"])

    def statuses(self) -> dict[str, str]:
        """The status of every node the command ran (the hooks' own results left out)."""
        return {result["unique_id"]: str(result["status"]) for result in self.run_results["results"]
                if result["unique_id"].split(".", 1)[0] not in UNLOGGED_TYPES}

    def node(self, unique_id: str) -> Mapping[str, Any]:
        for section in NODE_SECTIONS:
            found = self.manifest.get(section, {}).get(unique_id)
            if found is not None:
                return found
        return {}

    def built_nodes(self) -> list[str]:
        """The project's enabled models, seeds and snapshots, as this command's manifest knows them."""
        return sorted(unique_id for unique_id, node in self.manifest["nodes"].items()
                      if node["resource_type"] in BUILT_NODE_TYPES)


@dataclass(frozen=True)
class RawData:
    """The raw data a build read: the latest load recorded (None when the raw tables came otherwise) and the
    row count of every raw table by qualified name."""

    load_id: str | None
    rows: Mapping[str, int]


def utc_timestamp(text: str) -> datetime:
    """dbt's ISO timestamp ('...Z') as the naive UTC timestamp the log's columns hold."""
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def read_command(folder: Path) -> DbtCommand:
    """The artefacts one dbt command left in `folder` (a copy of its target folder's two files)."""
    return DbtCommand(json.loads((folder / RUN_RESULTS_FILE).read_text()),
                      json.loads((folder / MANIFEST_FILE).read_text()))


def check_complete(commands: Sequence[DbtCommand]) -> None:
    """The commands are `dbt build`s in which every node ran without error, and together they built every
    model, seed and snapshot of the project: a partial build on Spark (a --select) is not exported, since its
    other tables may come from an older Spark build the log knows nothing of."""
    if not commands:
        raise BuildLogError("no dbt command of a Spark build was found")
    built: set[str] = set()
    for command in commands:
        if command.which != "build":
            raise BuildLogError(f"dbt {command.which} {command.invocation_id[:8]} is not a `dbt build`")
        failed = sorted(unique_id for unique_id, status in command.statuses().items()
                        if status not in GOOD_STATUSES)
        if failed:
            raise BuildLogError(f"dbt build {command.invocation_id[:8]} did not succeed ({len(failed)} nodes "
                                f"failed, errored or were skipped: {', '.join(failed[:4])})")
        built |= {unique_id for unique_id, status in command.statuses().items() if status == "success"}
    missing = [unique_id for unique_id in commands[-1].built_nodes() if unique_id not in built]
    if missing:
        raise BuildLogError(f"the Spark build did not build {len(missing)} of the project's models, seeds "
                            f"and snapshots (a --select?): {', '.join(missing[:4])}")


def invocation_row(command: DbtCommand, raw: RawData, min_cell_size: int | None) -> tuple[Any, ...]:
    """The command's row of pipeline_log.dbt_invocations, in the table's column order. The raw data is the
    same at start and end: a Spark build's raw tables are written only by spark_engine.raw_tables, before its
    first dbt command."""
    rows = json.dumps(dict(raw.rows), sort_keys=True)
    cli_vars = command.cli_vars
    return (command.invocation_id, command.which, command.started_at, command.finished_at, raw.load_id,
            raw.load_id, rows, rows, min_cell_size, cli_vars.get(SMALL_CELLS_OVERRIDE_VAR) is True,
            json.dumps(cli_vars))


def node_rows(command: DbtCommand) -> list[tuple[str, str, str, str | None, str | None, str]]:
    """The command's rows of pipeline_log.dbt_node_results: every node it ran with its status, then every
    model, seed and snapshot it did not run as 'not selected'."""
    statuses = command.statuses()
    rows = []
    for unique_id, status in [*statuses.items(), *((unique_id, NOT_SELECTED) for unique_id
                                                   in command.built_nodes() if unique_id not in statuses)]:
        node = command.node(unique_id)
        resource_type = str(node.get("resource_type", unique_id.split(".", 1)[0]))
        relation = node.get("alias") if resource_type in BUILT_NODE_TYPES else None
        rows.append((command.invocation_id, unique_id, resource_type, node.get("schema"), relation, status))
    return rows
