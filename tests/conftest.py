"""Shared fixtures: small warehouses built the way users build them (generator or loader, then dbt)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

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


def run_dbt(args: list[str], warehouse: Path, workdir: Path, *, check: bool = True,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run dbt against `warehouse`, keeping compiled artefacts and logs in `workdir` so that
    several builds (and a developer's own `make build`) never share a target folder."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(BIN_DIR / "dbt"), *args,
        "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT),
        "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"),
    ]
    env = {"WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(extra_env or {})}
    return run_cli(cmd, check=check, env=env)


def generate(db: Path, patients: int = TEST_PATIENTS, seed: int = TEST_SEED,
             extra: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli([sys.executable, "-m", "generator", "--patients", str(patients), "--seed", str(seed),
                    "--db", str(db), *(extra or [])])


def load_mimic(source: Path, db: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli([sys.executable, "-m", "mimic_loader", str(source), "--db", str(db)], check=check)


@pytest.fixture(scope="session")
def synthetic_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding only the generated raw MIMIC-IV tables (and synthetic_truth)."""
    db = tmp_path_factory.mktemp("synthetic_raw") / "raw.duckdb"
    generate(db)
    return db


@pytest.fixture(scope="session")
def synthetic_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic population after a full `dbt build` (models, seeds, tests)."""
    workdir = tmp_path_factory.mktemp("synthetic_build")
    db = workdir / "warehouse.duckdb"
    generate(db)
    run_dbt(["build"], db, workdir)
    return db


@pytest.fixture(scope="session")
def mimic_fixture_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made real-format MIMIC-IV fixture, loaded and built like a real download."""
    workdir = tmp_path_factory.mktemp("mimic_build")
    db = workdir / "warehouse.duckdb"
    load_mimic(FIXTURE_MIMIC_DIR, db)
    run_dbt(["build"], db, workdir)
    return db


@pytest.fixture(scope="session")
def synthetic_export(synthetic_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The BI export of the synthetic warehouse, as `make publish` writes it."""
    exports = tmp_path_factory.mktemp("synthetic_export") / "exports"
    run_cli([sys.executable, "-m", "publish", "--db", str(synthetic_warehouse), "--out", str(exports)])
    return exports


@pytest.fixture(scope="session")
def population_report(synthetic_export: Path) -> Path:
    """The population report of that export, as `make report` writes it."""
    report = synthetic_export / "population_report.html"
    run_cli([sys.executable, "-m", "report", "--exports", str(synthetic_export), "--out", str(report)])
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
