"""The same raw tables built on DuckDB and on a local Apache Spark give the same tables, and the same BI
export (docs/spark.md).

A fixed synthetic population is built twice: with dbt on DuckDB (then exported with python -m publish), and
the way `make build ENGINE=spark` builds it (report.run build publish docs report: the raw tables copied into
Spark, dbt build up to the Python models' inputs, the Python models' code on the Spark driver, dbt build of
the rest and of schema bi, data tests included, schema bi and the build log copied back into the DuckDB file;
then the export, the docs on Spark and the report). Every table of the schemas data_quality, intermediate,
marts and bi is then compared row for row (spark_engine/parity.py): the same columns, rows and values, floats
within a relative 1e-9, the same segments; a table Spark did not build fails it (only bi.segment_transitions
is left out: a local session has no snapshots). The two exports are compared the same way, with their column
types and descriptions, and the same load and raw row counts in their build.json.
Runs only when asked for (marker spark: `make test-spark`, which installs the Spark extras of
requirements-spark.txt first); .ci/run runs it after make test.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import REPO_ROOT, generate, run_cli, run_dbt

pytestmark = [pytest.mark.spark, pytest.mark.dbt]

# Above clustering_min_population, so that the clustering path (not only the rule-based fallback) is compared.
PARITY_PATIENTS = 2000
PARITY_SEED = 7


@dataclass(frozen=True)
class Builds:
    """The same population built on DuckDB and on Spark, each exported as `make build` exports it."""

    duck: Path
    duck_exports: Path
    spark_dir: Path
    spark_exports: Path
    spark_target: Path
    spark_output: str


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
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
    run_cli([sys.executable, "-m", "publish", "--db", str(duck), "--out", str(work / "duckdb_exports")])
    spark_dir = work / "spark"
    result = run_cli([sys.executable, "-m", "report.run", "build", "publish", "docs", "report"], env={
        "ENGINE": "spark", "WAREHOUSE": str(raw), "SPARK_DIR": str(spark_dir),
        "EXPORTS": str(work / "spark_exports"),
        "RUN_LOG_DIR": str(work / "spark_logs"), "SETTINGS": str(work / "no-settings.yml"),
        "DBT_TARGET_PATH": str(work / "spark_target"), "DBT_LOG_PATH": str(work / "spark_dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    })
    print(result.stdout)
    return Builds(duck, work / "duckdb_exports", spark_dir, work / "spark_exports", work / "spark_target",
                  result.stdout)


def exported_tables(exports: Path) -> dict[str, pd.DataFrame]:
    """Every table of the current export, from its Parquet files, by qualified name."""
    files = sorted((exports / "current").glob("*.parquet"))
    return {f"bi.{path.stem}": pd.read_parquet(path) for path in files}


def exported_columns(exports: Path) -> list[tuple[str, str, str, str | None]]:
    """(view, column, type, description) of every column BI tools see in the export's bi.duckdb."""
    with duckdb.connect(str(exports / "bi.duckdb"), read_only=True) as con:
        return con.execute(
            "select table_name, column_name, data_type, comment from duckdb_columns() "
            "where schema_name = 'main' and not internal order by table_name, column_index").fetchall()


def exported_descriptions(exports: Path) -> list[tuple[str, str | None]]:
    with duckdb.connect(str(exports / "bi.duckdb"), read_only=True) as con:
        return con.execute("select view_name, comment from duckdb_views() where not internal "
                           "order by view_name").fetchall()


def test_every_table_equals_duckdbs(builds: Builds, monkeypatch: pytest.MonkeyPatch) -> None:
    from spark_engine.parity import compare, report, unexpected
    from spark_engine.session import spark_session

    duck, spark_dir = builds.duck, builds.spark_dir
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


def test_the_export_of_the_spark_build_equals_duckdbs(builds: Builds) -> None:
    from spark_engine.parity import NOT_ON_LOCAL_SPARK, compare_table, report, unexpected

    duck, spark = exported_tables(builds.duck_exports), exported_tables(builds.spark_exports)
    assert set(spark) == set(duck) - NOT_ON_LOCAL_SPARK and len(spark) >= 11
    results = [compare_table(name, duck[name], spark[name]) for name in sorted(spark)]
    summary = report(results)
    print(summary)
    assert not unexpected(results), summary
    left_out = {name.removeprefix("bi.") for name in NOT_ON_LOCAL_SPARK}
    assert exported_columns(builds.spark_exports) == [
        column for column in exported_columns(builds.duck_exports) if column[0] not in left_out]
    assert exported_descriptions(builds.spark_exports) == [
        view for view in exported_descriptions(builds.duck_exports) if view[0] not in left_out]
    manifests = [json.loads((exports / "current" / "build.json").read_text())
                 for exports in (builds.duck_exports, builds.spark_exports)]
    assert manifests[1]["load"] == manifests[0]["load"] is not None
    assert manifests[1]["raw_rows"] == manifests[0]["raw_rows"]
    assert manifests[1]["build_id"] == manifests[1]["dbt_build"]["invocation_id"] != manifests[0]["build_id"]


def test_the_report_and_the_docs_are_written_from_the_spark_build(builds: Builds) -> None:
    page = (builds.spark_exports / "population_report.html").read_text()
    assert page.count('<div class="chart">') >= 8
    # Segment moves need the snapshots, which a local Spark session does not run.
    assert "Not available in this build" in page and "bi.segment_transitions" in page
    docs = builds.spark_target / "static_index.html"
    assert docs.stat().st_size > 1_000_000 and "../spark_target/static_index.html" in page
    catalog = json.loads((builds.spark_target / "catalog.json").read_text())
    assert catalog["nodes"]["model.patient_segmentation.segment_profiles"]["metadata"]["schema"] == "bi"
    assert "Copying the BI marts and the build log from Spark" in builds.spark_output
