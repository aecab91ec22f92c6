"""docs/benchmarks.md, rendered from the run's JSON (docs/benchmarks.json): the JSON is the record, the
Markdown a view of it, so a change of presentation needs no new run:

    python -m bench.markdown [BENCHMARKS_JSON [BENCHMARKS_MD]]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

Row = Mapping[str, object]


def _met_text(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[met]


def _load_text(row: Row) -> str:
    load = row["details"].get("load_average_at_start")
    return "—" if load is None else f"{load:.1f}"


def _main_table(rows: Sequence[Row]) -> list[str]:
    lines = ["| tier | stage | median s | min s | max s | runs | median CPU s | peak RSS MiB "
             "| process tree MiB | rows produced | load avg | target | met? |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for row in rows:
        target = row["target"] or "—"
        if row["floor_ratio"] is not None:
            target = f"{target} (ratio {row['floor_ratio']:.2f})"
        lines.append(f"| {row['tier']:,} | {row['label']} | {row['median_s']:.2f} | {row['min_s']:.2f} "
                     f"| {row['max_s']:.2f} | {row['runs']} | {row['median_cpu_s']:.2f} "
                     f"| {row['peak_rss_mib']:,.0f} | {row['peak_tree_mib']:,.0f} | {row['rows']:,} "
                     f"| {_load_text(row)} | {target} | {_met_text(row['met'])} |")
    return lines


def _floor_section(rows: Sequence[Row]) -> list[str]:
    """The ratio judged against the target compares wall times without start-up; the CPU ratio (dbt's whole
    process, start-up included, over one floor execution) is the steadier one on a busy machine."""
    lines = ["| tier | dbt feature models, in warehouse, best s | dbt process, median s | floor, best s "
             "| ratio | dbt process CPU s | floor CPU s | CPU ratio | floor equals marts.patient_features |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    by_key = {(row["tier"], row["stage"]): row for row in rows}
    for tier in sorted({row["tier"] for row in rows}):
        features, floor = by_key.get((tier, "features")), by_key.get((tier, "floor"))
        if features is None or floor is None:
            continue
        equality = floor["details"]["equality"]
        verdict = "yes, row by row" if equality["equal"] else f"**no**: {_mismatch_text(equality)}"
        best_in_warehouse = min(features["details"]["warehouse_seconds"])
        cpu_ratio = features["median_cpu_s"] / floor["median_cpu_s"]
        lines.append(f"| {tier:,} | {best_in_warehouse:.2f} | {features['median_s']:.2f} "
                     f"| {floor['min_s']:.2f} | {features['floor_ratio']:.2f} "
                     f"| {features['median_cpu_s']:.2f} | {floor['median_cpu_s']:.2f} | {cpu_ratio:.2f} "
                     f"| {verdict} |")
    return lines


def _engines_section(rows: Sequence[Row]) -> list[str]:
    """DuckDB's whole build beside local Spark's of the same tier (ENGINE=spark runs only). Spark's includes
    copying the raw tables in and its several dbt and JVM start-ups, as make build ENGINE=spark does."""
    by_key = {(row["tier"], row["stage"]): row for row in rows}
    tiers = sorted({tier for tier, stage in by_key if stage == "spark_build"})
    if not tiers:
        return ["Not measured in this run: `make bench ENGINE=spark` adds a whole build on local Spark to "
                "each tier."]
    lines = ["| tier | DuckDB dbt build, median s | CPU s | local Spark build, median s | CPU s "
             "| Spark / DuckDB (wall) | Spark dbt statuses |",
             "|---:|---:|---:|---:|---:|---:|---|"]
    for tier in tiers:
        duck, spark = by_key.get((tier, "dbt_build")), by_key[(tier, "spark_build")]
        statuses = ", ".join(f"{n} {status.lower()}"
                             for status, n in sorted(spark["details"].get("dbt_statuses", {}).items()))
        duck_wall, duck_cpu, ratio = ((f"{duck['median_s']:.2f}", f"{duck['median_cpu_s']:.2f}",
                                       f"{spark['median_s'] / duck['median_s']:.1f}×") if duck
                                      else ("—", "—", "—"))
        lines.append(f"| {tier:,} | {duck_wall} | {duck_cpu} | {spark['median_s']:.2f} "
                     f"| {spark['median_cpu_s']:.2f} | {ratio} | {statuses} |")
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


def _slowest_section(rows: Sequence[Row]) -> list[str]:
    lines = []
    for row in rows:
        slowest = row["details"].get("slowest_nodes")
        if slowest:
            totals = sorted(row["details"]["seconds_by_node_type"].items(), key=lambda item: -item[1])
            by_type = ", ".join(f"{node_type} {seconds:.1f} s" for node_type, seconds in totals)
            nodes = ", ".join(f"{_node_label(node)} {seconds:.2f} s" for node, seconds in slowest)
            lines.append(f"- {row['tier']:,} / {row['stage']} (summed: {by_type}): {nodes}")
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
- The split `dbt build` stages select by folder, with `--indirect-selection buildable` so that each test runs
  once, in the stage where all its parents exist; they show where the time goes. `dbt build (whole project)`
  is the one invocation users run, timed after them on the same warehouse (every model rebuilt, every data
  test run; the unit tests are left out, as `make build` leaves them out); the target for a build at 365,000
  patients is judged on it. `SQL models alone` reruns the models of
  the seeds + SQL stage with `dbt run` (no seeds, no tests): the SQL layer's target is judged on it. The
  end-to-end row adds up its stages' times and takes the largest peak.
- Feature models against the floor: the floor query (`bench/floor_features.sql`) runs `BENCH_FLOOR_REPEATS`
  times (default 5) in one process through the DuckDB Python API, each run materialising
  `bench_floor.patient_features`; its best time is compared with the best in-warehouse time of
  `dbt run --select +patient_features` (first model start to last model end, dbt start-up excluded).
  The process times including start-up are shown as well, and a CPU ratio (CPU seconds of dbt's whole
  process over those of one floor execution), which other work on the machine disturbs less.
- The machine may be shared: "load avg" is the 1-minute load average when the stage started (the machine's
  cores are in the table above); a stage measured under load shows a wall time well above its CPU time."""


def render(payload: Mapping[str, object]) -> str:
    """The Markdown report of one run's JSON payload."""
    rows, checks = payload["rows"], payload["checks"]
    machine, settings = payload["machine"], payload["settings"]
    tiers = ", ".join(f"{tier:,}" for tier in settings["tiers"])
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (`python -m bench`) on {machine['date']}: tiers {tiers} patients, "
        f"up to {settings['repeats']} runs per stage, seed {settings['seed']}. "
        "Machine-readable: `benchmarks.json`.",
        "",
        "`make bench` runs the tiers 10,000 and 365,000 (MIMIC-IV's size); "
        "`BENCH_TIERS=10000,365000,3650000 make bench` adds 3.65 million. Other settings: "
        "`BENCH_REPEATS`, `BENCH_FLOOR_REPEATS`, `BENCH_SEED`, `BENCH_SLOW_SECONDS`, "
        "`BENCH_OUT` (this folder), `BENCH_WORKDIR`; `make bench ENGINE=spark` adds a build on local Spark.",
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
        "## DuckDB and local Spark",
        "",
        *_engines_section(rows),
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


def write_markdown(json_file: Path, markdown_file: Path) -> Path:
    markdown_file.write_text(render(json.loads(json_file.read_text(encoding="utf-8"))), encoding="utf-8")
    return markdown_file


def main(argv: Sequence[str]) -> int:
    json_file = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "docs" / "benchmarks.json"
    markdown_file = Path(argv[1]) if len(argv) > 1 else json_file.with_suffix(".md")
    print(f"wrote {write_markdown(json_file, markdown_file)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
