"""Targets, derived rows and the outputs: docs/benchmarks.md for people, docs/benchmarks.json for tools."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench.config import BenchConfig
from bench.markdown import write_markdown
from bench.pipeline import STAGE_LABELS, StageResult, TierResult

MIB = 2**20

# Rows added up from measured stages: the whole pipeline from nothing.
DERIVED_STAGES: Mapping[str, tuple[str, ...]] = {
    "end_to_end": ("generate", "dbt_parse", "dbt_sql", "clustering", "marts_export"),
}
DERIVED_LABELS: Mapping[str, str] = {
    "end_to_end": "end to end (generate + dbt_parse + dbt_sql + clustering + marts_export)",
}


@dataclass(frozen=True)
class Target:
    """A goal for one stage, at one tier or (tier None) at every tier."""

    stage: str
    tier: int | None
    max_seconds: float | None = None
    max_rss_mib: float | None = None
    max_floor_ratio: float | None = None

    def applies_to(self, tier: int, stage: str) -> bool:
        return self.stage == stage and self.tier in (None, tier)

    def describe(self) -> str:
        parts = []
        if self.max_seconds is not None:
            parts.append(f"≤ {self.max_seconds:g} s")
        if self.max_rss_mib is not None:
            parts.append(f"≤ {self.max_rss_mib / 1024:g} GiB")
        if self.max_floor_ratio is not None:
            parts.append(f"≤ {self.max_floor_ratio:g}× floor")
        return " and ".join(parts)


TARGETS: tuple[Target, ...] = (
    Target("generate", 365_000, max_seconds=10, max_rss_mib=3 * 1024),
    Target("sql_models", 365_000, max_seconds=30),
    Target("dbt_build", 365_000, max_seconds=60, max_rss_mib=4 * 1024),
    Target("features", None, max_floor_ratio=1.3),
    Target("end_to_end", 3_650_000, max_seconds=600, max_rss_mib=8 * 1024),
)


@dataclass(frozen=True)
class ReportRow:
    tier: int
    stage: str
    label: str
    median_s: float
    min_s: float
    max_s: float
    runs: int
    median_cpu_s: float
    peak_rss_mib: float
    peak_tree_mib: float
    rows: int
    rows_by_relation: Mapping[str, int]
    target: str = ""
    met: bool | None = None
    floor_ratio: float | None = None
    details: Mapping[str, object] = field(default_factory=dict)


def measured_row(result: StageResult) -> ReportRow:
    return ReportRow(
        tier=result.tier, stage=result.stage, label=STAGE_LABELS[result.stage],
        median_s=result.timing.median, min_s=result.timing.minimum, max_s=result.timing.maximum,
        runs=result.timing.runs, median_cpu_s=result.cpu.median, peak_rss_mib=result.peak_rss_bytes / MIB,
        peak_tree_mib=result.peak_tree_bytes / MIB,
        rows=sum(result.rows.values()),
        rows_by_relation=dict(result.rows), details=dict(result.details),
    )


def derived_row(stage: str, parts: Sequence[ReportRow]) -> ReportRow:
    """Stages run one after another: times add up, memory peaks at the largest stage."""
    return ReportRow(
        tier=parts[0].tier, stage=stage, label=DERIVED_LABELS[stage],
        median_s=sum(part.median_s for part in parts), min_s=sum(part.min_s for part in parts),
        max_s=sum(part.max_s for part in parts), runs=min(part.runs for part in parts),
        median_cpu_s=sum(part.median_cpu_s for part in parts),
        peak_rss_mib=max(part.peak_rss_mib for part in parts),
        peak_tree_mib=max(part.peak_tree_mib for part in parts), rows=sum(part.rows for part in parts),
        rows_by_relation={}, details={"sum_of": [part.stage for part in parts]},
    )


def feature_floor_ratio(features: ReportRow, floor: ReportRow) -> float:
    """Best in-warehouse time of the dbt feature models over the floor's best time: both sides without
    process start-up, so the ratio is what the SQL itself costs."""
    return min(features.details["warehouse_seconds"]) / floor.min_s


def _with_target(row: ReportRow, floor_ratio: float | None) -> ReportRow:
    targets = [target for target in TARGETS if target.applies_to(row.tier, row.stage)]
    if not targets:
        return replace(row, floor_ratio=floor_ratio)
    checks = []
    for target in targets:
        if target.max_seconds is not None:
            checks.append(row.median_s <= target.max_seconds)
        if target.max_rss_mib is not None:
            checks.append(max(row.peak_rss_mib, row.peak_tree_mib) <= target.max_rss_mib)
        if target.max_floor_ratio is not None:
            checks.append(floor_ratio is not None and floor_ratio <= target.max_floor_ratio)
    return replace(row, target="; ".join(target.describe() for target in targets), met=all(checks),
                   floor_ratio=floor_ratio)


def tier_rows(results: Sequence[StageResult]) -> list[ReportRow]:
    """The report's rows of one tier: measured stages, then the derived totals, each against its target."""
    measured = [measured_row(result) for result in results]
    by_stage = {row.stage: row for row in measured}
    derived = [derived_row(stage, [by_stage[part] for part in parts])
               for stage, parts in DERIVED_STAGES.items() if all(part in by_stage for part in parts)]
    ratio = (feature_floor_ratio(by_stage["features"], by_stage["floor"])
             if "features" in by_stage and "floor" in by_stage else None)
    return [_with_target(row, ratio if row.stage == "features" else None) for row in measured + derived]


def _loaded_equals_generated(load: Mapping[str, object]) -> bool:
    differing = load["rows_differing_from_generated"]
    return not any(differing.values()) and load["tables_loaded"] == sorted(differing)


def tier_checks(result: TierResult) -> dict[str, object]:
    """What must hold whatever the timings: the floor and the dbt models agree, the loader reads back what the
    generator wrote, and the build stages together build the whole project once. None: the stage that would
    tell did not run."""
    details = {stage.stage: stage.details for stage in result.stages}
    complete = result.failure is None
    return {
        "tier": result.tier,
        "failed_stage": None if complete else result.failure.stage,
        "failure": None if complete else result.failure.message,
        "floor_equals_patient_features": (details["floor"]["equality"]["equal"] if "floor" in details
                                          else None),
        "loaded_equals_generated": _loaded_equals_generated(details["load"]) if "load" in details else None,
        "dbt_nodes_not_built": result.nodes_not_built if complete else None,
        "dbt_nodes_built_twice": result.nodes_built_twice if complete else None,
    }


def report_payload(rows: Sequence[ReportRow], checks: Sequence[Mapping[str, object]],
                   machine: Mapping[str, object], config: BenchConfig) -> dict[str, object]:
    """Everything a run found, as docs/benchmarks.json holds it; the Markdown report is rendered from this."""
    return {
        "machine": machine,
        "settings": {"tiers": list(config.tiers), "repeats": config.repeats,
                     "floor_repeats": config.floor_repeats, "seed": config.seed,
                     "slow_seconds": config.slow_seconds},
        "targets": [asdict(target) for target in TARGETS],
        "rows": [asdict(row) for row in rows],
        "checks": list(checks),
    }


def write_reports(rows: Sequence[ReportRow], checks: Sequence[Mapping[str, object]],
                  machine: Mapping[str, object], config: BenchConfig) -> list[Path]:
    """benchmarks.json, and benchmarks.md rendered from that very JSON so the two never disagree."""
    config.out_dir.mkdir(parents=True, exist_ok=True)
    data = config.out_dir / "benchmarks.json"
    data.write_text(json.dumps(report_payload(rows, checks, machine, config), indent=2, default=str) + "\n",
                    encoding="utf-8")
    return [data, write_markdown(data, config.out_dir / "benchmarks.md")]
