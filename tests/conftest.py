"""Shared fixtures: small warehouses built the way users build them (generator or loader, then dbt)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner
from dbt.contracts.graph.manifest import Manifest
from dbt_common.events.base_types import EventMsg

from report.run import PRODUCTION_BUILD

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_MIMIC_DIR = REPO_ROOT / "tests" / "fixtures" / "mimic"
BIN_DIR = Path(sys.executable).parent

# Small enough for a quick suite, large enough that every archetype and clustering path is exercised.
TEST_PATIENTS = 3000
TEST_SEED = 7


def run_cli(args: list[str], *, check: bool = True, env: dict[str, str] | None = None,
            cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """Run a command the way a user would, with this interpreter's environment."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(
            f"command failed ({result.returncode}): {' '.join(args)}\n"
            f"--- stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-8000:]}"
        )
    return result


# Set by the session fixture below: a folder (shared by pytest-xdist workers) of dbt's saved parse states.
PARSE_CACHE_ENV = "PATIENT_SEGMENTATION_TEST_PARSE_CACHE"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def _parse_state(args: list[str], warehouse: Path, extra_env: dict[str, str] | None) -> Path | None:
    """Where the parse state of a dbt command like this one is kept: dbt reuses a saved parse only if the
    project files, the --vars, the profile's connection (the warehouse path as given) and the env vars the
    project reads are unchanged, and parses in full otherwise, the key below only avoids needless misses."""
    cache = os.environ.get(PARSE_CACHE_ENV)
    if not cache:
        return None
    cli_vars = args[args.index("--vars") + 1] if "--vars" in args else ""
    key = repr((warehouse.name, cli_vars, sorted((extra_env or {}).items())))
    return Path(cache) / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.msgpack"


def build_flags(args: list[str], *, unit_tests: bool = False) -> list[str]:
    """What a `dbt build` adds to `args` to build as `make build` does (the unit tests left out), unless
    `unit_tests`; nothing for other commands."""
    return list(PRODUCTION_BUILD) if args[:1] == ["build"] and not unit_tests else []


def run_dbt(args: list[str], warehouse: Path, workdir: Path, *, check: bool = True,
            extra_env: dict[str, str] | None = None,
            unit_tests: bool = False) -> subprocess.CompletedProcess[str]:
    """Run dbt against `warehouse`, keeping compiled artefacts and logs in `workdir` so that
    several builds (and a developer's own `make build`) never share a target folder.

    A `dbt build` leaves the unit tests out, as `make build` does, unless `unit_tests`: they check the SQL on
    fixed inputs, so the builds of the session's shared warehouses run them for the whole suite.

    dbt runs in the warehouse's folder with WAREHOUSE set to the file's name, as `make build` passes
    warehouse.duckdb, so that the profile is the same for every test warehouse of that name; dbt then reuses
    the parse of an earlier command (partial parsing, as on a user's second build) instead of parsing the
    whole project again for every test. It still parses in full whenever anything it parses from changed."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "target"
    cmd = [
        str(BIN_DIR / "dbt"), *args, *build_flags(args, unit_tests=unit_tests),
        "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT),
        "--target-path", str(target), "--log-path", str(workdir / "logs"),
    ]
    state = _parse_state(args, warehouse, extra_env)
    if state is not None and state.exists() and not (target / PARTIAL_PARSE_FILE).exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(state, target / PARTIAL_PARSE_FILE)
    env = {"WAREHOUSE": warehouse.name, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(extra_env or {})}
    result = run_cli(cmd, check=check, env=env, cwd=warehouse.parent)
    if state is not None and not state.exists() and (target / PARTIAL_PARSE_FILE).exists():
        partial = state.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(target / PARTIAL_PARSE_FILE, partial)
        partial.replace(state)
    return result


@dataclass(frozen=True)
class ParsedProject:
    """The project parsed once in this test process, and the paths its in-process commands use."""

    manifest: Manifest
    args: tuple[str, ...]


@pytest.fixture(scope="session")
def parsed_project(tmp_path_factory: pytest.TempPathFactory) -> ParsedProject:
    """One parse of the project for the dbt commands this process runs in-process (`run_dbt_in_process`).
    dbt reads --vars when a node compiles, so a parsed project serves every command whose vars only change
    SQL, where a new dbt process would parse the whole project again for each new set of vars. Vars read by
    YAML configs (the clustering settings) change the parse itself: those tests run dbt as a process."""
    folder = tmp_path_factory.mktemp("in_process_dbt")
    args = ("--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT),
            "--target-path", str(folder / "target"), "--log-path", str(folder / "logs"))
    parsed = dbtRunner().invoke(["parse", *args])
    assert parsed.success, parsed.exception
    return ParsedProject(parsed.result, args)


@dataclass(frozen=True)
class InProcessResult:
    """What a dbt command run in-process did: its exception, and the names and lines of what it reported."""

    success: bool
    exception: BaseException | None
    event_names: list[str]
    output: str


def run_dbt_in_process(project: ParsedProject, args: list[str], warehouse: Path, *,
                       check: bool = True) -> InProcessResult:
    """Run dbt in this process over `project` against `warehouse` (as `run_dbt` does in a new process,
    `dbt build` leaving the unit tests out)."""
    events: list[EventMsg] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(warehouse.parent)
        patch.setenv("WAREHOUSE", warehouse.name)
        try:
            result = dbtRunner(manifest=project.manifest, callbacks=[events.append]).invoke(
                [*args, *build_flags(args), *project.args])
        finally:
            # dbt-duckdb keeps the database open in its process after a command; a dbt process would close it
            # at exit. Closed here, so that the test can open the file again.
            DuckDBConnectionManager.close_all_connections()
    outcome = InProcessResult(result.success, result.exception, [event.info.name for event in events],
                              "\n".join(event.info.msg for event in events))
    if check and not outcome.success:
        raise AssertionError(f"dbt {' '.join(args)} failed: {outcome.exception}\n{outcome.output[-8000:]}")
    return outcome


def generate(db: Path, patients: int = TEST_PATIENTS, seed: int = TEST_SEED,
             extra: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli([sys.executable, "-m", "generator", "--patients", str(patients), "--seed", str(seed),
                    "--db", str(db), *(extra or [])])


def load_mimic(source: Path, db: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli([sys.executable, "-m", "mimic_loader", str(source), "--db", str(db)], check=check)


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this test run: under pytest-xdist, the one folder all workers share."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder that `build` fills once per test run. Under pytest-xdist every worker gets the same folder:
    the first worker to ask builds it while the others wait, so an expensive warehouse is built once for the
    whole run; the tests only read it (or copy it)."""
    root = shared_root(tmp_path_factory)
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = folder / ".built"
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                build(folder)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


@pytest.fixture(scope="session", autouse=True)
def dbt_parse_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Saved dbt parse states for run_dbt, shared by the workers of this run."""
    cache = shared_root(tmp_path_factory) / "dbt_parse_cache"
    cache.mkdir(exist_ok=True)
    os.environ[PARSE_CACHE_ENV] = str(cache)
    return cache


@pytest.fixture(scope="session")
def synthetic_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding only the generated raw MIMIC-IV tables (and synthetic_truth)."""
    return built_once(tmp_path_factory, "synthetic_raw", lambda folder: generate(folder / "raw.duckdb")) \
        / "raw.duckdb"


@pytest.fixture(scope="session")
def synthetic_warehouse(synthetic_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic population after a full `dbt build` (models, seeds, tests). The population is the one of
    synthetic_raw (same size and seed, so the same tables), copied rather than generated a second time."""
    def build(workdir: Path) -> None:
        db = workdir / "warehouse.duckdb"
        shutil.copyfile(synthetic_raw, db)
        run_dbt(["build"], db, workdir, unit_tests=True)

    return built_once(tmp_path_factory, "synthetic_build", build) / "warehouse.duckdb"


@pytest.fixture(scope="session")
def mimic_fixture_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made real-format MIMIC-IV fixture, loaded and built like a real download."""
    def build(workdir: Path) -> None:
        db = workdir / "warehouse.duckdb"
        load_mimic(FIXTURE_MIMIC_DIR, db)
        run_dbt(["build"], db, workdir, unit_tests=True)

    return built_once(tmp_path_factory, "mimic_build", build) / "warehouse.duckdb"


@pytest.fixture(scope="session")
def synthetic_export(synthetic_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The BI export of the synthetic warehouse, as `make publish` writes it."""
    def build(folder: Path) -> None:
        run_cli([sys.executable, "-m", "publish", "--db", str(synthetic_warehouse),
                 "--out", str(folder / "exports")])

    return built_once(tmp_path_factory, "synthetic_export", build) / "exports"


@pytest.fixture(scope="session")
def population_report(synthetic_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The population report of that export, as `make report` writes it."""
    report = synthetic_export / "population_report.html"

    def build(_: Path) -> None:
        run_cli([sys.executable, "-m", "report", "--exports", str(synthetic_export), "--out", str(report)])

    built_once(tmp_path_factory, "population_report", build)
    return report


def record_build(connection: duckdb.DuckDBPyConnection, build_id: str, statuses: dict[str, str], *,
                 finished: bool = True, load_ids: tuple[str | None, str | None] = (None, None),
                 min_cell_size: int = 11) -> None:
    """Log a `dbt build` as dbt's hooks do (dbt_project/macros/pipeline_log.sql), with the status of each
    model of schema bi: for warehouses whose schema bi a test writes by hand."""
    connection.execute("create schema if not exists pipeline_log")
    connection.execute("""
        create table if not exists pipeline_log.dbt_invocations (
            invocation_id varchar not null, command varchar not null, started_at timestamp not null,
            finished_at timestamp, load_id_at_start varchar, load_id_at_end varchar,
            raw_rows_at_start varchar, raw_rows_at_end varchar, min_cell_size integer,
            small_cells_override boolean, cli_vars varchar)
    """)
    connection.execute("""
        create table if not exists pipeline_log.dbt_node_results (
            invocation_id varchar not null, unique_id varchar not null, resource_type varchar not null,
            schema_name varchar, relation_name varchar, status varchar not null)
    """)
    connection.execute("""
        insert into pipeline_log.dbt_invocations
        values (?, 'build', now()::timestamp, case when ? then now()::timestamp end, ?, ?, '{}', '{}', ?,
                false, '{}')
    """, [build_id, finished, *load_ids, min_cell_size])
    connection.executemany(
        "insert into pipeline_log.dbt_node_results values (?, ?, 'model', 'bi', ?, ?)",
        [[build_id, f"model.patient_segmentation.{name}", name, status] for name, status in statuses.items()])


def record_complete_build(connection: duckdb.DuckDBPyConnection, build_id: str, relations: list[str],
                          min_cell_size: int = 11) -> None:
    """A finished `dbt build` that rebuilt the tables `relations` of schema bi successfully."""
    record_build(connection, build_id, dict.fromkeys(relations, "success"), min_cell_size=min_cell_size)

