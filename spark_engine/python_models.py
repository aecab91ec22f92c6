"""The dbt Python models on Spark: `python -m spark_engine.python_models [--vars ...]`.

dbt-spark submits Python models to Databricks clusters only, never to a local session. Between the two dbt
builds of `make run ENGINE=spark` this step runs each Python model of models_py/ itself, in dependency order,
with its config as dbt parsed it for the target (so `--vars` apply), and writes each result to Spark as
spark_driver.<model>, from where the same-named SQL stand-ins of models_py/spark_driver/ copy it into schema
marts.

Most models run their own code on the driver: `dbt.ref()` of a SQL model or seed reads the Spark table
through Arrow into DuckDB, the relation type the models are written for (the same columns and order as on
DuckDB), `dbt.ref()` of another Python model gets that model's result (read back from spark_driver when it
ran inside Spark), and the `session` is an in-memory DuckDB holding synthetic_truth.patient_archetypes when
Spark has it; the result is written through DuckDB's own pandas-to-Arrow types, as dbt-duckdb materializes a
Python model. The clustering fits one seeded sample of at most clustering_sample_size patients there.

The models whose work is per patient (`in_engine_models`: patient_segments) run their Spark version instead,
with dbt-spark's API (`dbt.ref()` gives Spark DataFrames, the `session` is the SparkSession), and return a
Spark DataFrame computed inside the engine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

import duckdb
import pandas as pd

from spark_engine.session import REPO_ROOT, spark_session

DRIVER_TAG = "spark_driver"
DRIVER_SCHEMA = "spark_driver"
TRUTH_TABLE = "synthetic_truth.patient_archetypes"


def parse_manifest(target: str, extra_args: Sequence[str]) -> Any:
    """The manifest dbt parses for `target` (the Python models are among its disabled nodes there)."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([
        "parse", "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT), "--target", target,
        "--quiet", *extra_args,
    ])
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return result.result


def python_models(manifest: Any) -> dict[str, Any]:
    """The project's Python models by name (disabled on this target, so found among the disabled nodes)."""
    models = {}
    for nodes in manifest.disabled.values():
        for node in nodes:
            if node.resource_type == "model" and node.language == "python":
                models[node.name] = node
    return models


def stand_ins(manifest: Any) -> dict[str, Any]:
    """The enabled SQL stand-ins of the Python models by name. dbt gives a model's YAML properties (among them
    the `clustering` and `risk_validation` configs) to the enabled one of two same-named models, so the
    Python models' configs are read from these."""
    return {node.name: node for node in manifest.nodes.values()
            if node.resource_type == "model" and DRIVER_TAG in node.tags}


def in_dependency_order(models: dict[str, Any]) -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for ref in models[name].refs:
            if ref.name in models:
                visit(ref.name)
        order.append(name)

    for name in sorted(models):
        visit(name)
    return order


def relation_name(manifest: Any, name: str) -> str:
    for node in manifest.nodes.values():
        if node.name == name and node.resource_type in {"model", "seed"}:
            return f"{node.schema}.{node.alias}"
    raise KeyError(f"dbt.ref('{name}'): no enabled model or seed of that name on this target")


def spark_ref(spark: Any, manifest: Any, python_models: Collection[str], name: str) -> Any:
    """The Spark table dbt.ref(name) reads: a Python model's result in schema spark_driver (its stand-in in
    marts is built after this step), else the SQL model or seed."""
    return spark.table(f"{DRIVER_SCHEMA}.{name}" if name in python_models else relation_name(manifest, name))


class DbtShim:
    """The part of dbt's Python-model API the project's models use: ref(), source() and config.get()."""

    def __init__(self, config: dict[str, Any], spark: Any, manifest: Any, results: dict[str, pd.DataFrame],
                 con: duckdb.DuckDBPyConnection, python_models: Collection[str]) -> None:
        self.values, self.spark, self.manifest, self.results, self.con = config, spark, manifest, results, con
        self.python_models = python_models
        self.config = self

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def ref(self, name: str) -> duckdb.DuckDBPyRelation:
        if name in self.results:
            return self.con.from_df(self.results[name])
        return self.con.from_arrow(spark_ref(self.spark, self.manifest, self.python_models, name).toArrow())

    def source(self, source_name: str, table_name: str) -> duckdb.DuckDBPyRelation:
        """A source copied into the driver's DuckDB (truth_session); absent, DuckDB's CatalogException, as
        dbt-duckdb raises for a missing source."""
        return self.con.table(f"{source_name}.{table_name}")


class SparkDbtShim:
    """dbt's Python-model API as dbt-spark gives it to a model on a cluster: ref() returns a Spark
    DataFrame."""

    def __init__(self, config: dict[str, Any], spark: Any, manifest: Any,
                 python_models: Collection[str]) -> None:
        self.values, self.spark, self.manifest, self.python_models = config, spark, manifest, python_models
        self.config = self

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def ref(self, name: str) -> Any:
        return spark_ref(self.spark, self.manifest, self.python_models, name)


def in_engine_models() -> dict[str, Callable[[SparkDbtShim, Any], Any]]:
    """The Python models whose per-patient work runs inside Spark (their Spark versions, taking dbt-spark's
    API); the others run their own code on the driver. Imported here: pyspark is an optional extra."""
    from spark_engine import segments

    return {"patient_segments": segments.model}


def load_model_function(node: Any) -> Any:
    path = REPO_ROOT / node.original_file_path
    spec = importlib.util.spec_from_file_location(f"models_py_{node.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.model


def truth_session(spark: Any) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with synthetic_truth.patient_archetypes when Spark holds it (evaluation only)."""
    con = duckdb.connect()
    schema, table = TRUTH_TABLE.split(".")
    if spark.catalog.tableExists(f"{schema}.{table}"):
        arrow = spark.table(TRUTH_TABLE).toArrow()
        con.execute(f"create schema {schema}")
        con.register("truth_arrow", arrow)
        con.execute(f"create table {TRUTH_TABLE} as select * from truth_arrow")
        con.unregister("truth_arrow")
    return con


def write_result(spark: Any, name: str, frame: pd.DataFrame) -> None:
    """The frame as spark_driver.<name>, typed as DuckDB types it (dbt-duckdb's Python materialization)."""
    arrow = duckdb.from_df(frame).arrow()
    if hasattr(arrow, "read_all"):
        arrow = arrow.read_all()
    write_table(spark, name, spark.createDataFrame(arrow))


def write_table(spark: Any, name: str, table: Any) -> int:
    """A Spark DataFrame as spark_driver.<name>; its number of rows."""
    spark.sql(f"create schema if not exists {DRIVER_SCHEMA}")
    table.write.mode("overwrite").format("parquet").saveAsTable(f"{DRIVER_SCHEMA}.{name}")
    return spark.table(f"{DRIVER_SCHEMA}.{name}").count()


def run(target: str, dbt_args: Sequence[str]) -> list[tuple[str, int, float]]:
    manifest = parse_manifest(target, dbt_args)
    models = python_models(manifest)
    configs = {name: node.config.to_dict() for name, node in stand_ins(manifest).items()}
    if not models or set(models) != set(configs):
        raise RuntimeError(f"expected the Python models disabled and their stand-ins enabled on target "
                           f"{target}; "
                           f"Python models {sorted(models)}, stand-ins {sorted(configs)}")
    # The Spark versions of models run Python functions in Spark's workers, which must be this interpreter.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = spark_session(target)
    engine = in_engine_models()
    timings = []
    try:
        results: dict[str, pd.DataFrame] = {}
        con = truth_session(spark)
        for name in in_dependency_order(models):
            started = time.monotonic()
            if name in engine:
                table = engine[name](SparkDbtShim(configs[name], spark, manifest, models), spark)
                rows = write_table(spark, name, table)
                where = "in Spark"
            else:
                shim = DbtShim(configs[name], spark, manifest, results, con, models)
                frame = load_model_function(models[name])(shim, con)
                results[name] = frame
                write_result(spark, name, frame)
                rows, where = len(frame), "on the driver"
            timings.append((name, rows, time.monotonic() - started))
            print(f"    {name}: {rows:,} rows in {timings[-1][2]:.1f} s {where}", flush=True)
    finally:
        spark.stop()
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spark_engine.python_models",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="spark", help="profiles.yml target (a session: default spark)")
    args, dbt_args = parser.parse_known_args(argv)
    started = time.monotonic()
    try:
        timings = run(args.target, dbt_args)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"ran {len(timings)} Python models on the Spark driver in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
