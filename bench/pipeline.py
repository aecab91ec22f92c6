"""One tier of the benchmark: every pipeline stage run as child processes, measured, and its output counted.

Stages, in the order they run on one warehouse per tier:
  generate      python -m generator into a fresh warehouse
  load          python -m mimic_loader reading the generator's PhysioNet-layout files (writing those files
                is preparation, not timed)
  dbt_parse     dbt parse of the whole project in a fresh target folder: what a first build pays once;
                later dbt invocations of the tier reuse it (partial parsing), as repeated builds do
  dbt_sql       dbt build of the seeds and the SQL models (staging, intermediate, marts) with their tests
  sql_models    dbt run of the dbt_sql stage's models alone (no seeds, no tests): the SQL layer's own time
  features      dbt run of marts.patient_features and everything it is built from
  floor         the hand-written floor query for the same features (bench/floor_features.sql)
  clustering    dbt build of the Python models in models_py/ and what depends on them outside bi
  marts_export  dbt build of the BI marts, then python -m publish
  dbt_build     one `dbt build` of the whole project, as `make build` runs it (unit tests left out), on a
                copy of the warehouse the stages above built (every model is rebuilt, every data test run;
                the copy keeps the row counts of the stages above true of the tier's warehouse, since each
                build adds to the snapshots)
  spark_build   with ENGINE=spark only: `make build ENGINE=spark` on the tier's raw tables (copied into a
                fresh local Spark warehouse, dbt build on Spark, the Python models' code on the driver), the
                same project DuckDB builds in dbt_build

The three split `dbt build` stages divide the project's DAG in build order: what comes before the Python
models, the Python models and their dependants, the BI marts and theirs. Together they build every model,
seed and snapshot once, which each tier checks against dbt's manifest; they show where the time goes, and
dbt_build what a build costs (one start-up instead of three).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.config import BenchConfig
from bench.dbt_artifacts import BUILT_NODE_TYPES, DbtInvocation, dbt_cmd, read_run_results
from bench.floor import check_as_dict, compare_with_features
from bench.measure import (
    ProcessRun,
    StageError,
    Timing,
    combine_sequential,
    python_module_cmd,
    repeat_measurement,
    run_measured,
)
from bench.warehouse import count_rows, differing_rows, remove_database, tables_in_schemas
from generator.schema import RAW_SCHEMAS, RAW_TABLES, TRUTH_SCHEMA
from report.run import BUILD_RESULT, PRODUCTION_BUILD

_PYTHON_MODELS = "path:models_py"
_BI_MODELS = "path:dbt_project/models/marts/bi"
# A test spanning two stages runs with the later one: "buildable" picks a test when each of its parents is
# selected or built before, so the stages together run exactly the tests of one `make build`.
_INDIRECT_SELECTION = ["--indirect-selection", "buildable"]
DBT_SQL_BUILD = ["build", *PRODUCTION_BUILD, "--select", "resource_type:seed", "resource_type:snapshot",
                 "path:dbt_project/models", "--exclude", f"{_PYTHON_MODELS}+", f"{_BI_MODELS}+",
                 *_INDIRECT_SELECTION]
SQL_MODELS_RUN = ["run", "--select", "path:dbt_project/models", "--exclude", f"{_PYTHON_MODELS}+",
                  f"{_BI_MODELS}+"]
FEATURES_RUN = ["run", "--select", "+patient_features"]
CLUSTERING_BUILD = ["build", *PRODUCTION_BUILD, "--select", f"{_PYTHON_MODELS}+", "--exclude",
                    f"{_BI_MODELS}+", *_INDIRECT_SELECTION]
BI_BUILD = ["build", *PRODUCTION_BUILD, "--select", f"{_BI_MODELS}+", *_INDIRECT_SELECTION]
FULL_BUILD = ["build", *PRODUCTION_BUILD]
BUILD_STAGES = ("dbt_sql", "clustering", "marts_export")
SLOWEST_NODES_SHOWN = 5

STAGE_LABELS: Mapping[str, str] = {
    "generate": "generate (synthetic raw tables)",
    "load": "load real files (loader)",
    "dbt_parse": "dbt parse (whole project, first time)",
    "dbt_sql": "dbt build: seeds + SQL models",
    "sql_models": "SQL models alone (dbt run, no tests)",
    "features": "feature models (dbt run +patient_features)",
    "floor": "floor: hand-written feature SQL",
    "clustering": "clustering (dbt Python models + dependants)",
    "marts_export": "BI marts + publish",
    "dbt_build": "dbt build (whole project, one invocation)",
    "spark_build": "build on local Spark (make build ENGINE=spark)",
}
# The stages only ENGINE=spark runs.
SPARK_STAGES = ("spark_build",)


@dataclass(frozen=True)
class StageResult:
    tier: int
    stage: str
    timing: Timing
    cpu: Timing
    peak_rss_bytes: int
    peak_tree_bytes: int
    rows: Mapping[str, int]
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class TierContext:
    """Where one tier's files live and how its commands run."""

    tier: int
    config: BenchConfig
    repo_root: Path
    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def loaded_warehouse(self) -> Path:
        return self.root / "loaded.duckdb"

    @property
    def rebuilt_warehouse(self) -> Path:
        # Same file name as the original: dbt-duckdb names the database after the file, and the copied views
        # name it.
        return self.root / "rebuilt" / "warehouse.duckdb"

    @property
    def csv_dir(self) -> Path:
        return self.root / "physionet"

    @property
    def csv_source_db(self) -> Path:
        return self.root / "csv_source.duckdb"

    @property
    def dbt_dir(self) -> Path:
        return self.root / "dbt"

    @property
    def export_dir(self) -> Path:
        return self.root / "export"

    def env(self, warehouse: Path) -> dict[str, str]:
        return {**os.environ, "WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def run(self, cmd: list[str], log_name: str, warehouse: Path | None = None) -> ProcessRun:
        return run_measured(cmd, env=self.env(warehouse or self.warehouse), cwd=self.repo_root,
                            log_path=self.log(log_name))

    def run_dbt(self, args: list[str], log_name: str, warehouse: Path | None = None) -> ProcessRun:
        """dbt run from the warehouse's own folder with WAREHOUSE naming the file alone, as `make` runs it.
        The profile is then the same for the tier's warehouse and its rebuilt copy, so every dbt stage reuses
        the parse of dbt_parse, as a user's repeated builds do; a different path would make dbt parse the
        whole project again."""
        target = warehouse or self.warehouse
        return run_measured(dbt_cmd(args, repo_root=self.repo_root, dbt_dir=self.dbt_dir),
                            env={**self.env(target), "WAREHOUSE": target.name}, cwd=target.parent,
                            log_path=self.log(log_name))

    def repeat(self, run_once: Callable[[], ProcessRun]) -> list[ProcessRun]:
        return repeat_measurement(run_once, self.config.repeats, self.config.slow_seconds)


def new_tier_context(tier: int, config: BenchConfig, repo_root: Path) -> TierContext:
    """A fresh folder for the tier: leftovers of an earlier run would let a stage skip work."""
    root = config.work_dir / f"tier_{tier}"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    return TierContext(tier=tier, config=config, repo_root=repo_root, root=root)


def replace_details(result: StageResult, **extra: object) -> StageResult:
    return replace(result, details={**result.details, **extra})


def _result(ctx: TierContext, stage: str, runs: list[ProcessRun], rows: Mapping[str, int],
            details: Mapping[str, object] | None = None) -> StageResult:
    return StageResult(tier=ctx.tier, stage=stage, timing=Timing(tuple(run.seconds for run in runs)),
                       cpu=Timing(tuple(run.cpu_seconds for run in runs)),
                       peak_rss_bytes=max(run.peak_rss_bytes for run in runs),
                       peak_tree_bytes=max(run.peak_tree_bytes for run in runs), rows=rows,
                       details=details or {})


def _generator_cmd(ctx: TierContext, db: Path, *extra: str) -> list[str]:
    return python_module_cmd("generator", "--patients", str(ctx.tier), "--seed", str(ctx.config.seed),
                             "--db", str(db), *extra)


def _raw_tables(db: Path) -> dict[str, int]:
    return count_rows(db, tables_in_schemas(db, [*RAW_SCHEMAS, TRUTH_SCHEMA]))


def bench_generate(ctx: TierContext) -> StageResult:
    def once() -> ProcessRun:
        remove_database(ctx.warehouse)
        return ctx.run(_generator_cmd(ctx, ctx.warehouse), "generate")

    runs = ctx.repeat(once)
    return _result(ctx, "generate", runs, _raw_tables(ctx.warehouse))


def bench_load(ctx: TierContext) -> StageResult:
    preparation = ctx.run(_generator_cmd(ctx, ctx.csv_source_db, "--csv-dir", str(ctx.csv_dir)), "write_csv")
    remove_database(ctx.csv_source_db)

    def once() -> ProcessRun:
        remove_database(ctx.loaded_warehouse)
        load_cmd = python_module_cmd("mimic_loader", str(ctx.csv_dir), "--db", str(ctx.loaded_warehouse))
        return ctx.run(load_cmd, "load")

    runs = ctx.repeat(once)
    loaded = _raw_tables(ctx.loaded_warehouse)
    raw_tables = [table.qualified_name for table in RAW_TABLES]
    differing = differing_rows(ctx.warehouse, ctx.loaded_warehouse, raw_tables)
    details = {"csv_writing_seconds_untimed": preparation.seconds,
               "csv_bytes": sum(path.stat().st_size for path in ctx.csv_dir.rglob("*") if path.is_file()),
               "tables_loaded": sorted(loaded),
               "rows_differing_from_generated": differing}
    return _result(ctx, "load", runs, loaded, details)


def _dbt_details(invocations: list[DbtInvocation]) -> dict[str, object]:
    return {
        "warehouse_seconds": [invocation.warehouse_seconds() for invocation in invocations],
        "dbt_elapsed_seconds": [invocation.elapsed_seconds for invocation in invocations],
        "built_nodes": invocations[-1].built_nodes(),
        "slowest_nodes": invocations[-1].slowest(SLOWEST_NODES_SHOWN),
        "seconds_by_node_type": invocations[-1].seconds_by_node_type(),
    }


def _read_and_keep_run_results(ctx: TierContext, stage: str) -> DbtInvocation:
    """dbt's run results of the invocation that just ended, also kept as dbt/<stage>_run_results.json (the
    next invocation overwrites target/run_results.json) for profiling a slow stage afterwards."""
    results_file = ctx.dbt_dir / "target" / "run_results.json"
    shutil.copyfile(results_file, ctx.dbt_dir / f"{stage}_run_results.json")
    return read_run_results(results_file.parent)


def bench_dbt(ctx: TierContext, stage: str, args: list[str], warehouse: Path | None = None) -> StageResult:
    """A dbt stage: `args` run repeatedly on the tier's warehouse (or `warehouse`), rows counted in what the
    last run built."""
    invocations: list[DbtInvocation] = []
    target = warehouse or ctx.warehouse

    def once() -> ProcessRun:
        run = ctx.run_dbt(args, stage, target)
        invocations.append(_read_and_keep_run_results(ctx, stage))
        return run

    runs = ctx.repeat(once)
    rows = count_rows(target, invocations[-1].relations())
    return _result(ctx, stage, runs, rows, _dbt_details(invocations))


def bench_dbt_build(ctx: TierContext) -> StageResult:
    """The whole project in one `dbt build`, on a copy of the built warehouse (copying is not timed)."""
    remove_database(ctx.rebuilt_warehouse)
    ctx.rebuilt_warehouse.parent.mkdir(exist_ok=True)
    shutil.copyfile(ctx.warehouse, ctx.rebuilt_warehouse)
    return bench_dbt(ctx, "dbt_build", FULL_BUILD, ctx.rebuilt_warehouse)


def bench_dbt_parse(ctx: TierContext) -> StageResult:
    """Measured once: after the first parse dbt reuses its saved state, which a repeat would time instead."""
    run = ctx.run_dbt(["parse"], "dbt_parse")
    manifest = json.loads((ctx.dbt_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    return _result(ctx, "dbt_parse", [run], {}, {"manifest_nodes": len(manifest["nodes"])})


def bench_floor(ctx: TierContext) -> StageResult:
    """The floor's executions are timed inside its process (best of N); the process gives the memory."""
    result_file = ctx.root / "floor_seconds.json"
    run = ctx.run(python_module_cmd("bench.floor", "--db", str(ctx.warehouse), "--repeats",
                                    str(ctx.config.floor_repeats), "--result", str(result_file)), "floor")
    timings = json.loads(result_file.read_text(encoding="utf-8"))
    check = compare_with_features(ctx.warehouse)
    return StageResult(tier=ctx.tier, stage="floor", timing=Timing(tuple(timings["seconds"])),
                       cpu=Timing(tuple(timings["cpu_seconds"])), peak_rss_bytes=run.peak_rss_bytes,
                       peak_tree_bytes=run.peak_tree_bytes,
                       rows=count_rows(ctx.warehouse, ["bench_floor.patient_features"]),
                       details={"equality": check_as_dict(check)})


def bench_marts_export(ctx: TierContext) -> StageResult:
    invocations: list[DbtInvocation] = []

    def once() -> ProcessRun:
        bi = ctx.run_dbt(BI_BUILD, "marts_export_dbt")
        invocations.append(_read_and_keep_run_results(ctx, "marts_export"))
        if ctx.export_dir.exists():
            shutil.rmtree(ctx.export_dir)
        publish_cmd = python_module_cmd("publish", "--db", str(ctx.warehouse), "--out", str(ctx.export_dir))
        publish = ctx.run(publish_cmd, "marts_export_publish")
        return combine_sequential([bi, publish])

    runs = ctx.repeat(once)
    # publish links its newest build as `current`: each file is counted once, under its real path.
    root = ctx.export_dir.resolve()
    files = sorted({path.resolve() for path in root.rglob("*") if path.is_file()})
    exported = {str(path.relative_to(root)): path.stat().st_size for path in files}
    details = {**_dbt_details(invocations), "exported_files_bytes": exported}
    return _result(ctx, "marts_export", runs, count_rows(ctx.warehouse, invocations[-1].relations()), details)


def bench_spark_build(ctx: TierContext) -> StageResult:
    """The whole Spark build as a user runs it (report.run's build step), into a fresh Spark folder per
    run: the raw tables copied in, every model, test and unit test, and the BI marts copied back into the
    tier's warehouse (so it runs last). The dbt statuses are the step's record."""
    spark_root = ctx.root / "spark"
    statuses: list[dict[str, int]] = []

    def once() -> ProcessRun:
        if spark_root.exists():
            shutil.rmtree(spark_root)
        env = {**ctx.env(ctx.warehouse), "ENGINE": "spark", "SPARK_DIR": str(spark_root / "warehouse"),
               "RUN_LOG_DIR": str(spark_root / "logs"), "SETTINGS": str(spark_root / "no-settings.yml"),
               "DBT_TARGET_PATH": str(spark_root / "target"), "DBT_LOG_PATH": str(spark_root / "dbt_logs")}
        run = run_measured(python_module_cmd("report.run", "build"), env=env, cwd=ctx.repo_root,
                           log_path=ctx.log("spark_build"))
        statuses.append(json.loads((spark_root / "logs" / BUILD_RESULT).read_text())["statuses"])
        return run

    runs = ctx.repeat(once)
    return _result(ctx, "spark_build", runs, {}, {"dbt_statuses": statuses[-1]})


@dataclass(frozen=True)
class StageFailure:
    stage: str
    message: str


@dataclass(frozen=True)
class TierResult:
    tier: int
    stages: list[StageResult]
    # Each stage works on what the one before it made, so the first failure ends the tier.
    failure: StageFailure | None = None
    # Models, seeds and snapshots of the project that no build stage built, or that two stages built; only
    # known when every stage ran.
    nodes_not_built: list[str] = field(default_factory=list)
    nodes_built_twice: list[str] = field(default_factory=list)


def build_coverage(manifest_file: Path, stages: list[StageResult]) -> tuple[list[str], list[str]]:
    """Compare what the build stages built with every buildable node in dbt's manifest."""
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    project_nodes = {unique_id for unique_id, node in manifest["nodes"].items()
                     if node["resource_type"] in BUILT_NODE_TYPES}
    built = Counter(node for result in stages if result.stage in BUILD_STAGES
                    for node in result.details["built_nodes"])
    return sorted(project_nodes - set(built)), sorted(node for node, times in built.items() if times > 1)


def bench_tier(tier: int, config: BenchConfig, repo_root: Path,
               progress: Callable[[str], None]) -> TierResult:
    ctx = new_tier_context(tier, config, repo_root)
    steps: list[tuple[str, Callable[[], StageResult]]] = [
        ("generate", lambda: bench_generate(ctx)),
        ("load", lambda: bench_load(ctx)),
        ("dbt_parse", lambda: bench_dbt_parse(ctx)),
        ("dbt_sql", lambda: bench_dbt(ctx, "dbt_sql", DBT_SQL_BUILD)),
        ("sql_models", lambda: bench_dbt(ctx, "sql_models", SQL_MODELS_RUN)),
        ("features", lambda: bench_dbt(ctx, "features", FEATURES_RUN)),
        ("floor", lambda: bench_floor(ctx)),
        ("clustering", lambda: bench_dbt(ctx, "clustering", CLUSTERING_BUILD)),
        ("marts_export", lambda: bench_marts_export(ctx)),
        ("dbt_build", lambda: bench_dbt_build(ctx)),
    ]
    if config.engine == "spark":
        steps.append(("spark_build", lambda: bench_spark_build(ctx)))
    results = []
    for stage, step in steps:
        progress(f"tier {tier:,}: {STAGE_LABELS[stage]} ...")
        # Others' work on a shared machine slows a stage; the load when it started tells how far to trust it.
        load_at_start = os.getloadavg()[0]
        try:
            result = replace_details(step(), load_average_at_start=load_at_start)
        except StageError as error:
            progress(f"tier {tier:,}: {stage} failed: {error}")
            return TierResult(tier=tier, stages=results, failure=StageFailure(stage, str(error)))
        progress(f"tier {tier:,}: {stage} median {result.timing.median:.2f} s over "
                 f"{result.timing.runs} run(s), peak RSS {result.peak_rss_bytes / 2**20:,.0f} MiB, "
                 f"process tree {result.peak_tree_bytes / 2**20:,.0f} MiB")
        results.append(result)
    not_built, built_twice = build_coverage(ctx.dbt_dir / "target" / "manifest.json", results)
    return TierResult(tier=tier, stages=results, nodes_not_built=not_built, nodes_built_twice=built_twice)
