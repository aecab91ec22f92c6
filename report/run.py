"""python -m report.run STEP [STEP ...]: make's steps with one progress line per long stage, the full output
in logs/run.log, one clear line for a warehouse held open elsewhere, and a closing summary.

Steps: data (generate or load), build (dbt build), publish (BI export), docs (dbt docs), report, summary.
Settings come from the environment make passes on (WAREHOUSE, PATIENTS, SEED, MIMIC_DIR, DBT_FLAGS, EXPORTS,
SETTINGS, DBT_THREADS, ENGINE, SPARK_DIR): see the Makefile and README. ENGINE=spark builds on Apache Spark
(docs/spark.md): the raw tables are still generated or loaded into the DuckDB file, then copied into Spark
and built there; the build's BI marts and its log are copied back into the DuckDB file, from which the export
and the report are made as after a DuckDB build, and the docs describe the Spark build.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from publish.export import BI_SCHEMA
from report.locks import lock_message
from report.page import REPORT_FILE, write_report
from report.settings import VARS_FLAG, SettingsError, dbt_flags
from report.source import ExportMissingError, read_export
from report.summary import print_summary
from spark_engine.build_log import MANIFEST_FILE, RUN_RESULTS_FILE

EXIT_ERROR = 1
# dbt's result lines: "12:00:01  37 of 512 START sql table model staging.stg_x .... [RUN]".
NODE_LINE = re.compile(
    r"^\S+\s+(?P<index>\d+) of (?P<total>\d+) (?P<status>[A-Z-]+)( \d+)? (?P<what>.+?)"
    r"\s\.*\s*\[(?P<result>[^\]]*)\]\s*$"
)
# Stages of a build as dbt announces them, first match wins; the clustering models are the slow ones.
STAGES = (
    ("seed file", "reference tables (seeds)"),
    ("python table model", "clustering"),
    ("model data_quality.", "raw-row checks (data quality)"),
    ("model staging.", "staging views"),
    ("model intermediate.", "clinical concepts (intermediate)"),
    ("model marts.", "patient marts and risk scores"),
    ("model bi.", "BI marts (small counts suppressed)"),
    ("snapshot", "segment history (snapshots)"),
)
BUILD_RESULT = "last_build.json"
SPARK_COMMANDS_DIR = "dbt_commands"
ENGINES = ("duckdb", "spark")
# dbt's one-file docs page (manifest and catalog inside) opens from disk, where index.html needs a server.
DOCS_PAGE = "static_index.html"


class StepError(RuntimeError):
    """A step failed; the message says why (one line when the cause is known, else the output's tail)."""


@dataclass(frozen=True)
class Config:
    warehouse: Path
    patients: str
    seed: str
    mimic_dir: str
    load_flags: str
    dbt_flags: str
    exports: Path
    settings: Path
    logs: Path
    engine: str = "duckdb"
    spark_dir: Path = Path("spark-warehouse")
    target_path: Path = Path("target")
    python: str = sys.executable

    @classmethod
    def from_environment(cls) -> Config:
        env = os.environ
        return cls(
            warehouse=Path(env.get("WAREHOUSE", "warehouse.duckdb")),
            patients=env.get("PATIENTS", "10000"),
            seed=env.get("SEED", "42"),
            mimic_dir=env.get("MIMIC_DIR", "").strip(),
            load_flags=env.get("LOAD_FLAGS", ""),
            dbt_flags=env.get("DBT_FLAGS", ""),
            exports=Path(env.get("EXPORTS", "exports")),
            settings=Path(env.get("SETTINGS", "settings.yml")),
            logs=Path(env.get("RUN_LOG_DIR", "logs")),
            engine=env.get("ENGINE", "duckdb").strip() or "duckdb",
            spark_dir=Path(env.get("SPARK_DIR", "spark-warehouse")),
            # Where dbt writes its artefacts: the project's target-path, unless DBT_TARGET_PATH is set.
            target_path=Path(env.get("DBT_TARGET_PATH", "target")),
        )

    @property
    def log_file(self) -> Path:
        return self.logs / "run.log"

    @property
    def dbt(self) -> str:
        return str(Path(self.python).parent / "dbt")

    @property
    def report_file(self) -> Path:
        return self.exports / REPORT_FILE

    @property
    def docs_page(self) -> Path:
        return self.target_path / DOCS_PAGE

    @property
    def spark_commands(self) -> Path:
        """The artefacts of the dbt commands of the latest Spark build, one folder per command."""
        return self.spark_dir / SPARK_COMMANDS_DIR


@dataclass
class BuildResult:
    """What one dbt build said: counts by status, and the warnings and errors worth a line each."""

    statuses: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def check_unlocked(warehouse: Path, write: bool) -> None:
    """Fail in one line, before any work, when another process holds the warehouse."""
    if not warehouse.is_file():
        return
    try:
        duckdb.connect(str(warehouse), read_only=not write).close()
    except duckdb.IOException as error:
        message = lock_message(str(error), warehouse)
        if message:
            raise StepError(message) from error
        raise


def announce(text: str) -> float:
    print(f"==> {text}", flush=True)
    return time.monotonic()


def done(started: float, detail: str = "") -> None:
    elapsed = time.monotonic() - started
    print(f"    done in {elapsed:.0f} s{': ' + detail if detail else ''}", flush=True)


def stream(
    cmd: Sequence[str], config: Config, on_line: Callable[[str], None] = lambda line: None
) -> list[str]:
    """Run `cmd`, appending its output to the run log and handing each line to `on_line`; returns the lines.
    A failure raises StepError with the lock line, or the tail of the output and where the rest is."""
    config.logs.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    env = {**os.environ, "WAREHOUSE": str(config.warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with config.log_file.open("a") as log:
        log.write(f"\n$ {' '.join(cmd)}\n")
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for line in process.stdout or ():
            log.write(line)
            lines.append(line.rstrip("\n"))
            on_line(lines[-1])
        returncode = process.wait()
    if returncode != 0:
        message = lock_message("\n".join(lines), config.warehouse)
        if message:
            raise StepError(message)
        # The project's own commands end a failure they understand with one "error: ..." line: that line is
        # the message, without the output above it.
        if lines and lines[-1].startswith("error: "):
            raise StepError(lines[-1].removeprefix("error: "))
        tail = "\n".join(f"    {line}" for line in lines[-25:])
        raise StepError(
            f"{Path(cmd[0]).name} failed (exit {returncode}); last lines:\n{tail}\n"
            f"full output: {config.log_file}"
        )
    return lines


def step_data(config: Config) -> None:
    check_unlocked(config.warehouse, write=True)
    if config.mimic_dir:
        started = announce(f"Loading MIMIC-IV from {config.mimic_dir}")
        cmd = [config.python, "-m", "mimic_loader", config.mimic_dir, "--db", str(config.warehouse),
               *shlex.split(config.load_flags)]
    else:
        started = announce(f"Generating {int(config.patients):,} synthetic patients (seed {config.seed})")
        cmd = [
            config.python,
            "-m",
            "generator",
            "--patients",
            config.patients,
            "--seed",
            config.seed,
            "--db",
            str(config.warehouse),
            "--skip-if-current",
        ]
    lines = stream(cmd, config)
    done(started, lines[-1].strip() if lines else "")


def stage_of(what: str) -> str | None:
    return next((stage for marker, stage in STAGES if marker in what), None)


def build_progress(result: BuildResult) -> Callable[[str], None]:
    """A line handler printing each stage once, each clustering model, and collecting results."""
    seen: set[str] = set()

    def on_line(line: str) -> None:
        match = NODE_LINE.match(line)
        if not match:
            return
        status, what = match["status"], match["what"]
        if status == "START":
            stage = stage_of(what)
            label = f"clustering: {what.rsplit('.', 1)[-1]}" if stage == "clustering" else stage
            if label and label not in seen:
                seen.add(label)
                print(f"    [{match['index']:>4}/{match['total']}] {label}", flush=True)
            return
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status == "WARN":
            result.warnings.append(f"{what} ({match['result']})")
        elif status in {"ERROR", "FAIL"}:
            result.errors.append(f"{what} ({match['result']})")

    return on_line


def dbt_command(config: Config) -> list[str]:
    """dbt on the engine: on Spark with the project's SQL functions registered on its session
    (spark_engine.run_dbt)."""
    if config.engine == "spark":
        return [config.python, "-m", "spark_engine.run_dbt", "--target", "spark"]
    return [config.dbt]


# A build of the data leaves out the unit tests, as dbt advises for production: they check the models' SQL on
# fixed inputs, so the data cannot change their result. `make test` runs them in every test build, and
# `dbt test --select test_type:unit` runs them alone.
PRODUCTION_BUILD = ("--exclude-resource-type", "unit_test")


def dbt_build_command(config: Config, *selection: str) -> list[str]:
    return [
        *dbt_command(config),
        "build",
        "--project-dir",
        ".",
        "--profiles-dir",
        ".",
        "--no-use-colors",
        *PRODUCTION_BUILD,
        *selection,
        *dbt_flags(config.settings, config.dbt_flags),
    ]


def check_engine(config: Config) -> None:
    if config.engine not in ENGINES:
        raise StepError(f"ENGINE={config.engine}: expected one of {', '.join(ENGINES)}")
    if config.engine == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError as error:
            raise StepError("ENGINE=spark needs the Spark extras: make setup-spark") from error


def artefact_times(config: Config) -> dict[str, int | None]:
    """When dbt last wrote each artefact a Spark build keeps (None: never), to tell its next write."""
    paths = {name: config.target_path / name for name in (RUN_RESULTS_FILE, MANIFEST_FILE)}
    return {name: path.stat().st_mtime_ns if path.is_file() else None for name, path in paths.items()}


def keep_artefacts(config: Config, folder: Path, before: dict[str, int | None]) -> None:
    """Keep the run_results.json and manifest.json the dbt command just wrote (`before`: their times before
    it), for spark_engine.bi_tables. One the command did not rewrite is another command's and would log the
    wrong build: the step stops instead."""
    folder.mkdir(parents=True)
    for name, written in artefact_times(config).items():
        if written is None or written == before[name]:
            raise StepError(f"dbt build wrote no {config.target_path / name} (a --target-path in DBT_FLAGS? "
                            "set DBT_TARGET_PATH instead): the Spark build cannot be recorded")
        shutil.copyfile(config.target_path / name, folder / name)


def spark_dbt_build(config: Config, result: BuildResult, folder: Path, *selection: str) -> None:
    """One dbt build on Spark, its artefacts kept in `folder`."""
    before = artefact_times(config)
    stream(dbt_build_command(config, *selection), config, build_progress(result))
    keep_artefacts(config, folder, before)


def spark_build(config: Config, result: BuildResult) -> None:
    """On Spark: copy the raw tables in, build everything up to the Python models' inputs, run the Python
    models' logic on the driver (spark_engine.python_models), then build what depends on them and every BI
    mart, so that the last dbt command rebuilds all of schema bi, as the export requires of a build
    (publish/build_check.py). Then copy schema bi and the build's log into the DuckDB file
    (spark_engine.bi_tables), only after the whole build succeeded: a failed build changes nothing there."""
    from spark_engine.python_models import DRIVER_TAG

    # A failed build leaves no artefacts behind that a later copy could take for a finished build's.
    shutil.rmtree(config.spark_commands, ignore_errors=True)
    started = announce("Copying the raw tables from DuckDB into Spark")
    lines = stream([config.python, "-m", "spark_engine.raw_tables", "--db", str(config.warehouse)], config)
    done(started, lines[-1].strip() if lines else "")
    last = (f"tag:{DRIVER_TAG}+", f"config.schema:{BI_SCHEMA}")
    spark_dbt_build(config, result, config.spark_commands / "1", "--exclude", *last)
    started = announce("Clustering and risk validation on the Spark driver (the dbt Python models' logic)")
    flags = dbt_flags(config.settings, config.dbt_flags)
    # Only the vars reach the Python models' configs (other DBT_FLAGS, a selection say, are for dbt build).
    vars_flags = flags[flags.index(VARS_FLAG):flags.index(VARS_FLAG) + 2] if VARS_FLAG in flags else []
    lines = stream([config.python, "-m", "spark_engine.python_models", *vars_flags], config)
    done(started, lines[-1].strip() if lines else "")
    spark_dbt_build(config, result, config.spark_commands / "2", "--select", *last)
    started = announce(f"Copying the BI marts and the build log from Spark into {config.warehouse}")
    lines = stream([config.python, "-m", "spark_engine.bi_tables", "--db", str(config.warehouse),
                    "--runs", str(config.spark_commands)], config)
    done(started, lines[-1].strip() if lines else "")


def step_build(config: Config) -> None:
    check_engine(config)
    check_unlocked(config.warehouse, write=True)
    on = " on Spark" if config.engine == "spark" else ""
    started = announce(f"Building the warehouse with dbt{on} (models, clustering, tests)")
    result = BuildResult()
    try:
        if config.engine == "spark":
            spark_build(config, result)
        else:
            stream(dbt_build_command(config), config, build_progress(result))
    except StepError as error:
        failures = "".join(f"\n    failed: {line}" for line in result.errors)
        raise StepError(f"{error}{failures}") from error
    finally:
        (config.logs / BUILD_RESULT).write_text(json.dumps(result.__dict__, indent=2) + "\n")
    counts = ", ".join(f"{n} {status.lower()}" for status, n in sorted(result.statuses.items()))
    done(started, counts)
    for warning in result.warnings:
        print(f"    warning: {warning}")


def step_publish(config: Config) -> None:
    check_unlocked(config.warehouse, write=False)
    started = announce(f"Exporting the BI marts to {config.exports}/")
    stream(
        [config.python, "-m", "publish", "--db", str(config.warehouse), "--out", str(config.exports)], config
    )
    done(started)


def step_docs(config: Config) -> None:
    check_engine(config)
    check_unlocked(config.warehouse, write=False)
    on = " of the Spark build" if config.engine == "spark" else ""
    started = announce(f"Generating the dbt docs site{on} ({config.docs_page} opens without a server)")
    stream(
        [
            *dbt_command(config),
            "docs",
            "generate",
            "--static",
            "--project-dir",
            ".",
            "--profiles-dir",
            ".",
            "--no-use-colors",
            *dbt_flags(config.settings, config.dbt_flags),
        ],
        config,
    )
    done(started)


def step_report(config: Config) -> None:
    started = announce("Writing the population report")
    try:
        out = write_report(read_export(config.exports), config.report_file, config.docs_page)
    except ExportMissingError as error:
        raise StepError(str(error)) from error
    done(started, f"{out} ({out.stat().st_size / 1e6:.1f} MB)")


def step_summary(config: Config) -> None:
    result_file = config.logs / BUILD_RESULT
    warnings = json.loads(result_file.read_text())["warnings"] if result_file.is_file() else []
    # Only schema bi comes back into the DuckDB file from Spark; the patient-level tables stay there.
    engine = [("Engine", f"Apache Spark: schema bi copied into {config.warehouse}, the patient-level marts "
                         f"are Spark tables under {config.spark_dir}/ (docs/spark.md)")] \
        if config.engine == "spark" else []
    print_summary(read_export(config.exports), config.report_file, config.log_file, warnings, engine)


STEPS: dict[str, Callable[[Config], None]] = {
    "data": step_data,
    "build": step_build,
    "publish": step_publish,
    "docs": step_docs,
    "report": step_report,
    "summary": step_summary,
}


def run(steps: Iterator[str] | Sequence[str], config: Config) -> int:
    for name in steps:
        try:
            STEPS[name](config)
        except (StepError, SettingsError, ExportMissingError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_ERROR
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    steps = list(sys.argv[1:] if argv is None else argv)
    unknown = [name for name in steps if name not in STEPS]
    if not steps or unknown:
        print(f"usage: python -m report.run STEP [STEP ...], steps: {', '.join(STEPS)}", file=sys.stderr)
        return 2
    return run(steps, Config.from_environment())


if __name__ == "__main__":
    sys.exit(main())
