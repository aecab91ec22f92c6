"""Targets, derived rows and the outputs: docs/benchmarks.md for people, docs/benchmarks.json for tools."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench.config import BenchConfig
from bench.pipeline import STAGE_LABELS, StageResult, TierResult

MIB = 2**20

# Rows added up from measured stages: a full `dbt build` with clustering, and the whole pipeline from nothing.
DERIVED_STAGES: Mapping[str, tuple[str, ...]] = {
    "dbt_build": ("dbt_sql", "clustering"),
    "end_to_end": ("generate", "dbt_parse", "dbt_sql", "clustering", "marts_export"),
}
DERIVED_LABELS: Mapping[str, str] = {
    "dbt_build": "dbt build incl. clustering (dbt_sql + clustering)",
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


def report_json(rows: Sequence[ReportRow], checks: Sequence[Mapping[str, object]],
                machine: Mapping[str, object], config: BenchConfig) -> str:
    payload = {
        "machine": machine,
        "settings": {"tiers": list(config.tiers), "repeats": config.repeats,
                     "floor_repeats": config.floor_repeats, "seed": config.seed,
                     "slow_seconds": config.slow_seconds},
        "targets": [asdict(target) for target in TARGETS],
        "rows": [asdict(row) for row in rows],
        "checks": list(checks),
    }
    return json.dumps(payload, indent=2, default=str) + "\n"


def _met_text(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[met]


def _load_text(row: ReportRow) -> str:
    load = row.details.get("load_average_at_start")
    return "—" if load is None else f"{load:.1f}"


def _main_table(rows: Sequence[ReportRow]) -> list[str]:
    lines = ["| tier | stage | median s | min s | max s | runs | median CPU s | peak RSS MiB "
             "| process tree MiB | rows produced | load avg | target | met? |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for row in rows:
        target = row.target or "—"
        if row.floor_ratio is not None:
            target = f"{target} (ratio {row.floor_ratio:.2f})"
        lines.append(f"| {row.tier:,} | {row.label} | {row.median_s:.2f} | {row.min_s:.2f} "
                     f"| {row.max_s:.2f} | {row.runs} | {row.median_cpu_s:.2f} | {row.peak_rss_mib:,.0f} "
                     f"| {row.peak_tree_mib:,.0f} | {row.rows:,} | {_load_text(row)} | {target} "
                     f"| {_met_text(row.met)} |")
    return lines


def _floor_section(rows: Sequence[ReportRow]) -> list[str]:
    lines = ["| tier | dbt feature models, in warehouse, best s | dbt process, median s | floor, best s "
             "| ratio | floor equals marts.patient_features |", "|---:|---:|---:|---:|---:|---|"]
    by_key = {(row.tier, row.stage): row for row in rows}
    for tier in sorted({row.tier for row in rows}):
        features, floor = by_key.get((tier, "features")), by_key.get((tier, "floor"))
        if features is None or floor is None:
            continue
        equality = floor.details["equality"]
        verdict = "yes, row by row" if equality["equal"] else f"**no**: {_mismatch_text(equality)}"
        best_in_warehouse = min(features.details["warehouse_seconds"])
        lines.append(f"| {tier:,} | {best_in_warehouse:.2f} | {features.median_s:.2f} "
                     f"| {floor.min_s:.2f} | {features.floor_ratio:.2f} | {verdict} |")
    return lines


def _mismatch_text(equality: Mapping[str, object]) -> str:
    parts = [f"{equality['rows_floor']:,} vs {equality['rows_features']:,} rows",
             f"{equality['mismatched_rows']:,} rows differ"]
    for key in ("column_mismatches", "missing_columns", "extra_columns", "type_differences"):
        if equality[key]:
            parts.append(f"{key.replace('_', ' ')}: {equality[key]}")
    if equality["sample_mismatches"]:
        parts.append(f"e.g. subject_id {equality['sample_mismatches']}")
    return "; ".join(parts)


def _yes_no(ok: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "not run"}[ok]


def _coverage_text(check: Mapping[str, object]) -> str:
    missing, twice = check["dbt_nodes_not_built"], check["dbt_nodes_built_twice"]
    if missing is None:
        return "not run"
    if not missing and not twice:
        return "yes"
    return f"**no**: not built {missing or 'none'}; built twice {twice or 'none'}"


def _checks_section(checks: Sequence[Mapping[str, object]]) -> list[str]:
    lines = ["| tier | floor equals marts.patient_features | loaded files equal generated tables "
             "| dbt stages build every model, seed and snapshot once |", "|---:|---|---|---|"]
    for check in checks:
        coverage = _coverage_text(check)
        lines.append(f"| {check['tier']:,} | {_yes_no(check['floor_equals_patient_features'])} "
                     f"| {_yes_no(check['loaded_equals_generated'])} | {coverage} |")
    return lines


def _failures_section(checks: Sequence[Mapping[str, object]]) -> list[str]:
    """A failed stage ends its tier; its error goes in the report, as the numbers above are then partial."""
    failed = [check for check in checks if check["failed_stage"] is not None]
    if not failed:
        return []
    lines = ["## Failed stages", ""]
    for check in failed:
        lines += [f"Tier {check['tier']:,}, stage `{check['failed_stage']}` (later stages did not run):", "",
                  "```", str(check["failure"]).strip(), "```", ""]
    return lines


def _node_label(unique_id: str) -> str:
    """'test.project.not_null_x.1a2b3c' -> 'test `not_null_x`': a data test's id ends in a hash."""
    parts = unique_id.split(".")
    name = parts[2] if parts[0] == "test" else parts[-1]
    return f"{parts[0]} `{name}`"


def _slowest_section(rows: Sequence[ReportRow]) -> list[str]:
    lines = []
    for row in rows:
        slowest = row.details.get("slowest_nodes")
        if slowest:
            totals = sorted(row.details["seconds_by_node_type"].items(), key=lambda item: -item[1])
            by_type = ", ".join(f"{node_type} {seconds:.1f} s" for node_type, seconds in totals)
            nodes = ", ".join(f"{_node_label(node)} {seconds:.2f} s" for node, seconds in slowest)
            lines.append(f"- {row.tier:,} / {row.stage} (summed: {by_type}): {nodes}")
    return lines


def _machine_table(machine: Mapping[str, object]) -> list[str]:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {key.replace('_', ' ')} | {value} |" for key, value in machine.items()]
    return lines


METHOD_NOTES = """\
- Every stage runs as a child process, started by a small launcher (`bench/spawn.py`) that reaps it with
  `os.wait4`: wall time around the process; CPU time (user + system) and peak RSS (`ru_maxrss`: the largest
  resident set of the process or of any descendant) from its rusage. CPU time is the steadier number when
  others use the machine. "Process tree" is the whole tree's memory, sampled every 0.1 s as the sum of
  each process's PSS, which counts workers running side by side together. Memory targets are judged on the
  larger of the two.
- A stage is repeated (`BENCH_REPEATS`, default 3) unless its first run takes `BENCH_SLOW_SECONDS` (60) or
  more; the table shows the median, min and max, and the peak RSS over all runs.
- One warehouse per tier, in `BENCH_WORKDIR` (default `bench/out/`); dbt runs with its own `--target-path` and
  `--log-path` there. `generate` starts from an empty file each run. `load` reads the generator's
  `--csv-dir` output (writing the files is not timed) into a separate warehouse. `dbt parse` runs once in the
  fresh target folder (what a first build pays; end to end includes it); the later dbt stages reuse its
  saved state (partial parsing), as repeated builds do. Each dbt stage's `run_results.json` is kept in
  `BENCH_WORKDIR/tier_N/dbt/` for profiling.
- `dbt build` stages select by folder, with `--indirect-selection buildable` so that each test runs once, in
  the stage where all its parents exist. The derived rows add up their stages' times and take the largest
  peak; a single `dbt build` process could peak higher, since DuckDB keeps its buffers between models.
- Feature models against the floor: the floor query (`bench/floor_features.sql`) runs `BENCH_FLOOR_REPEATS`
  times (default 5) in one process through the DuckDB Python API, each run materialising
  `bench_floor.patient_features`; its best time is compared with the best in-warehouse time of
  `dbt run --select +patient_features` (first model start to last model end, dbt start-up excluded).
  The process times including start-up are shown as well.
- The machine may be shared: "load avg" is the 1-minute load average when the stage started (the machine's
  cores are in the table above); a stage measured under load shows a wall time well above its CPU time."""


def report_markdown(rows: Sequence[ReportRow], checks: Sequence[Mapping[str, object]],
                    machine: Mapping[str, object], config: BenchConfig) -> str:
    tiers = ", ".join(f"{tier:,}" for tier in config.tiers)
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (`python -m bench`) on {machine['date']}: tiers {tiers} patients, "
        f"up to {config.repeats} runs per stage, seed {config.seed}. Machine-readable: `benchmarks.json`.",
        "",
        "`make bench` runs the tiers 10,000 and 365,000 (MIMIC-IV's size); "
        "`BENCH_TIERS=10000,365000,3650000 make bench` adds 3.65 million. Other settings: "
        "`BENCH_REPEATS`, `BENCH_FLOOR_REPEATS`, `BENCH_SEED`, `BENCH_SLOW_SECONDS`, "
        "`BENCH_OUT` (this folder), `BENCH_WORKDIR`.",
        "",
        "## Machine",
        "",
        *_machine_table(machine),
        "",
        "## Stages",
        "",
        *_main_table(rows),
        "",
        "## Feature models against the floor",
        "",
        *_floor_section(rows),
        "",
        "## Checks",
        "",
        *_checks_section(checks),
        "",
        *_failures_section(checks),
        "## Slowest dbt nodes (last run of each stage; node times summed per kind, over both dbt threads)",
        "",
        *_slowest_section(rows),
        "",
        "## How it is measured",
        "",
        METHOD_NOTES,
        "",
    ]
    return "\n".join(lines)


def write_reports(rows: Sequence[ReportRow], checks: Sequence[Mapping[str, object]],
                  machine: Mapping[str, object], config: BenchConfig) -> list[Path]:
    config.out_dir.mkdir(parents=True, exist_ok=True)
    markdown, data = config.out_dir / "benchmarks.md", config.out_dir / "benchmarks.json"
    markdown.write_text(report_markdown(rows, checks, machine, config), encoding="utf-8")
    data.write_text(report_json(rows, checks, machine, config), encoding="utf-8")
    return [markdown, data]
