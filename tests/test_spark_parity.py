"""The same raw tables built on DuckDB and on a local Apache Spark give the same tables (docs/spark.md).

A fixed synthetic population is built twice: with dbt on DuckDB, and the way `make build ENGINE=spark`
builds it (report.run: the raw tables copied into Spark, dbt build up to the Python models' inputs, the
Python models' code on the Spark driver, dbt build of the rest, data tests included). Every table of the
schemas data_quality, intermediate, marts and bi is then compared row for row (spark_engine/parity.py): the
same columns, rows and values, floats within a relative 1e-9, the same segments; a table Spark did not build
fails it (only bi.segment_transitions is left out: a local session has no snapshots).
Runs only when asked for (marker spark: `make test-spark`, which installs the Spark extras of
requirements-spark.txt first); .ci/run runs it after make test.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, generate, run_cli, run_dbt

pytestmark = [pytest.mark.spark, pytest.mark.dbt]

# Above clustering_min_population, so that the clustering path (not only the rule-based fallback) is compared.
PARITY_PATIENTS = 2000
PARITY_SEED = 7


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(DuckDB warehouse, Spark folder) of the same population, both fully built."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail("the Spark parity test needs the Spark extras: make test-spark (or make setup-spark)")
    work = tmp_path_factory.mktemp("spark_parity")
    raw = work / "raw.duckdb"
    generate(raw, PARITY_PATIENTS, PARITY_SEED)
    duck = work / "duckdb.duckdb"
    shutil.copyfile(raw, duck)
    run_dbt(["build"], duck, work / "duckdb")
    spark_dir = work / "spark"
    run_cli([sys.executable, "-m", "report.run", "build"], env={
        "ENGINE": "spark", "WAREHOUSE": str(raw), "SPARK_DIR": str(spark_dir),
        "RUN_LOG_DIR": str(work / "spark_logs"), "SETTINGS": str(work / "no-settings.yml"),
        "DBT_TARGET_PATH": str(work / "spark_target"), "DBT_LOG_PATH": str(work / "spark_dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    })
    return duck, spark_dir


def test_every_table_equals_duckdbs(builds: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from spark_engine.parity import compare, report, unexpected
    from spark_engine.session import spark_session

    duck, spark_dir = builds
    monkeypatch.setenv("SPARK_DIR", str(spark_dir))
    monkeypatch.chdir(REPO_ROOT)
    spark = spark_session()
    try:
        results = compare(duck, spark)
    finally:
        spark.stop()
    summary = report(results)
    print(summary)
    assert not unexpected(results), summary
    segments = next(result for result in results if result.table == "marts.patient_segments")
    assert segments.duckdb_rows == PARITY_PATIENTS
