"""What one dbt invocation did, read from the run_results.json it leaves in its target folder."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# Nodes that leave a relation in the warehouse (tests and operations do not).
BUILT_NODE_TYPES = ("model", "seed", "snapshot")


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str
    execution_seconds: float
    relation: str | None
    started_at: datetime | None
    completed_at: datetime | None

    @property
    def node_type(self) -> str:
        return self.unique_id.split(".", 1)[0]


@dataclass(frozen=True)
class DbtInvocation:
    elapsed_seconds: float
    nodes: tuple[NodeResult, ...]

    def warehouse_seconds(self) -> float:
        """From the first node starting to the last one finishing: dbt's own start-up (reading the project,
        building the manifest, connecting) is left out, the time the warehouse spends on the work is kept."""
        starts = [node.started_at for node in self.nodes if node.started_at is not None]
        ends = [node.completed_at for node in self.nodes if node.completed_at is not None]
        if not starts or not ends:
            return 0.0
        return (max(ends) - min(starts)).total_seconds()

    def relations(self) -> list[str]:
        """schema.name of every model and seed this invocation built, in run order."""
        return [node.relation for node in self.nodes
                if node.relation is not None and node.node_type in BUILT_NODE_TYPES]

    def built_nodes(self) -> list[str]:
        """unique_id of every model, seed and snapshot this invocation built successfully."""
        return sorted(node.unique_id for node in self.nodes
                      if node.node_type in BUILT_NODE_TYPES and node.status == "success")

    def seconds_by_node_type(self) -> dict[str, float]:
        """Summed execution time per kind of node (model, seed, test, unit_test, ...): where a build's time
        goes. With several dbt threads the sum exceeds the wall time."""
        totals: dict[str, float] = {}
        for node in self.nodes:
            totals[node.node_type] = totals.get(node.node_type, 0.0) + node.execution_seconds
        return totals

    def slowest(self, count: int) -> list[tuple[str, float]]:
        ranked = sorted(self.nodes, key=lambda node: node.execution_seconds, reverse=True)
        return [(node.unique_id, node.execution_seconds) for node in ranked[:count]]


def _timestamp(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _schema_dot_name(relation_name: str | None) -> str | None:
    """'"warehouse"."marts"."patient_features"' -> 'marts.patient_features' (the database is the file)."""
    if not relation_name:
        return None
    parts = [part.strip('"') for part in relation_name.split(".")]
    return ".".join(parts[-2:])


def _node(result: dict) -> NodeResult:
    timing = result.get("timing") or []
    starts = [_timestamp(step.get("started_at")) for step in timing]
    ends = [_timestamp(step.get("completed_at")) for step in timing]
    return NodeResult(
        unique_id=result["unique_id"],
        status=result["status"],
        execution_seconds=float(result.get("execution_time") or 0.0),
        relation=_schema_dot_name(result.get("relation_name")),
        started_at=min((s for s in starts if s is not None), default=None),
        completed_at=max((e for e in ends if e is not None), default=None),
    )


def read_run_results(target_dir: Path) -> DbtInvocation:
    path = target_dir / "run_results.json"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise RuntimeError(f"cannot read dbt's run results {path}: {error}") from error
    return DbtInvocation(elapsed_seconds=float(payload["elapsed_time"]),
                         nodes=tuple(_node(result) for result in payload["results"]))


def dbt_cmd(args: list[str], *, repo_root: Path, dbt_dir: Path) -> list[str]:
    """A dbt command with its own target and log folders, so nothing touches the repository's target/."""
    return [
        str(Path(sys.executable).parent / "dbt"), *args,
        "--project-dir", str(repo_root), "--profiles-dir", str(repo_root),
        "--target-path", str(dbt_dir / "target"), "--log-path", str(dbt_dir / "logs"),
    ]
