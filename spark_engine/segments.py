"""patient_segments on Spark: every patient labelled and profiled inside the engine, with the rows the dbt
Python model gives on DuckDB (segmentation.pipeline.segment_patients), to the last bit.

The fitting stays on the driver (cluster_evaluation stores the chosen models). The per-patient work runs in
Spark's Python workers with the functions of segmentation/partitioned.py, which also says why each step
keeps DuckDB's order:

1. the population's size and NULL fills, from every partition (`mapInPandas`);
2. two passes over the clustering columns in subject_id order, in one sorted partition: the column sums with
   the seeded sample and the first subject_id of every chunk, then the sums of squared deviations. Only these
   sums, the sample (at most clustering_sample_size patients) and the chunk starts reach the driver, which
   checks the stored models against the sample as DuckDB does;
3. each algorithm's label of every patient, one chunk of clustering_chunk_size patients per group
   (`applyInPandas`), written to the table spark_driver.patient_segment_labels;
4. the segment names: per-chunk moments (`applyInPandas`) added on the driver in chunk order, then the naming
   rules; when no clustering qualified, the rule-based segments instead (a join);
5. the rows of patient_segments (`mapInPandas`), which spark_engine.python_models writes to
   spark_driver.patient_segments.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql.functions import col, pandas_udf

from segmentation.algorithms import Assignment
from segmentation.config import ClusteringConfig
from segmentation.features import column_means
from segmentation.naming import name_segments
from segmentation.partitioned import (
    Scan,
    ScannedPopulation,
    batch_maxima,
    chunk_moment_rows,
    chunk_numbers,
    label_chunk,
    population_fills,
    scan_batches,
    scanned_population,
    segment_rows,
    squared_deviation_batches,
    statistics_of_chunks,
    wanted_positions,
)
from segmentation.pipeline import (
    RULE_SEGMENT_COLUMNS,
    SEGMENT_COLUMNS,
    check_rule_segment_columns,
    chosen_models,
    rule_segment_names,
    rule_segments_mismatch,
    stored_assignments,
)
from segmentation.warehouse import feature_columns

LABELS_TABLE = "spark_driver.patient_segment_labels"
TEXT_COLUMNS = ("segment_name", "segmentation_method", "selected_algorithm")
SEGMENTS_SCHEMA = ", ".join(f"{column} {'string' if column in TEXT_COLUMNS else 'long'}"
                            for column in SEGMENT_COLUMNS)
SCAN_SCHEMA = "kind string, position long, subject_id long, transformed array<double>"
MOMENTS_SCHEMA = ("chunk long, segment long, patients long, count array<double>, total array<double>, "
                  "squares array<double>")


def model(dbt: Any, session: Any) -> DataFrame:
    """The model patient_segments with dbt-spark's Python-model API: dbt.ref() gives Spark DataFrames."""
    config = ClusteringConfig.from_mapping(dbt.config.get("clustering"))
    features = dbt.ref("patient_features").select(*feature_columns())
    evaluation = dbt.ref("cluster_evaluation").toPandas()
    naming_rules = dbt.ref("segment_naming_rules").toPandas()
    return segment_patients(features, evaluation, naming_rules, dbt.ref("patient_rule_segments"), config)


def segment_patients(features: DataFrame, evaluation: pd.DataFrame, naming_rules: pd.DataFrame,
                     rule_segments: DataFrame, config: ClusteringConfig) -> DataFrame:
    """patient_segments of `features` (subject_id and the catalogue columns) as a Spark DataFrame."""
    models, selected = chosen_models(evaluation, config)
    population = scan_population(features, config)
    assignments = stored_assignments(models, config, population.fingerprint, population.sample_values)
    write_labels(features, population, assignments, config)
    labels = features.sparkSession.table(LABELS_TABLE)
    if selected is None:
        segments, names = rule_based_segments(labels, rule_segments)
    else:
        segments = labels.withColumn("segment_id", col(f"{selected}_label"))
        names = name_segments(segment_statistics(features, segments), naming_rules, config.noise_segment_name)
    label_columns = [f"{algorithm}_label" for algorithm in config.algorithms]
    rows = segments.mapInPandas(
        partial(segment_rows, names=names, selected=selected, label_columns=label_columns), SEGMENTS_SCHEMA)
    return rows.withColumn("subject_id", col("subject_id").cast(features.schema["subject_id"].dataType))


def scan_population(features: DataFrame, config: ClusteringConfig) -> ScannedPopulation:
    """The population's standardization, seeded sample and chunk starts (steps 1 and 2)."""
    clustering = features.select("subject_id", *config.features)
    maxima = clustering.mapInPandas(partial(batch_maxima, columns=config.features),
                                    "patients long, maxima array<double>").toPandas()
    n_patients, fills = population_fills(maxima, config.features)
    width = len(config.features)
    if n_patients == 0:
        nobody = Scan(0, np.zeros(width), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64),
                      np.empty((0, width)))
        return scanned_population(nobody, np.zeros(width), fills, config)
    # One sorted partition: the sums add the patients in subject_id order (see segmentation.partitioned).
    ordered = clustering.repartition(1).sortWithinPartitions("subject_id").persist()
    try:
        scan = Scan.of(ordered.mapInPandas(
            partial(scan_batches, columns=config.features, fills=fills,
                    wanted=wanted_positions(n_patients, config)), SCAN_SCHEMA).toPandas(), width)
        if scan.n_patients != n_patients:
            raise RuntimeError(f"marts.patient_features changed while it was read: {n_patients} patients, "
                               f"then {scan.n_patients}")
        squares = ordered.mapInPandas(
            partial(squared_deviation_batches, columns=config.features, fills=fills,
                    means=column_means(scan.sums, scan.n_patients)), "transformed array<double>").collect()
    finally:
        ordered.unpersist()
    return scanned_population(scan, np.array(squares[0].transformed, dtype=float), fills, config)


def chunk_column(subject_id: Column, chunk_starts: np.ndarray) -> Column:
    @pandas_udf("long")
    def chunk(subject_ids: pd.Series) -> pd.Series:
        return pd.Series(chunk_numbers(subject_ids.to_numpy(), chunk_starts))

    return chunk(subject_id)


def write_labels(features: DataFrame, population: ScannedPopulation, assignments: dict[str, Assignment],
                 config: ClusteringConfig) -> None:
    """subject_id, chunk and each configured algorithm's label of every patient, as LABELS_TABLE (step 3)."""
    label_columns = [f"{algorithm}_label" for algorithm in config.algorithms]
    schema = ", ".join(["subject_id long", "chunk long", *(f"{column} long" for column in label_columns)])

    # A function with type hints, not a partial: applyInPandas reads its kind from them.
    def label(chunk: pd.DataFrame) -> pd.DataFrame:
        return label_chunk(chunk, population.standardization, assignments, config)

    labels = (features.select("subject_id", *config.features)
              .withColumn("chunk", chunk_column(col("subject_id"), population.chunk_starts))
              .groupBy("chunk")
              .applyInPandas(label, schema))
    features.sparkSession.sql(f"create schema if not exists {LABELS_TABLE.split('.')[0]}")
    labels.write.mode("overwrite").format("parquet").saveAsTable(LABELS_TABLE)


def segment_statistics(features: DataFrame, segments: DataFrame) -> pd.DataFrame:
    """segmentation.profiles.segment_statistics of the labelled population (step 4)."""
    distinct = segments.select("segment_id").distinct().collect()
    segment_ids = np.sort(np.array([row.segment_id for row in distinct], dtype=np.int64))

    def moments(chunk: pd.DataFrame) -> pd.DataFrame:
        return chunk_moment_rows(chunk, segment_ids)

    rows = (features.join(segments.select("subject_id", "chunk", "segment_id"), "subject_id")
            .groupBy("chunk")
            .applyInPandas(moments, MOMENTS_SCHEMA)
            .toPandas())
    return statistics_of_chunks(rows, segment_ids)


def rule_based_segments(labels: DataFrame, rule_segments: DataFrame) -> tuple[DataFrame, pd.Series]:
    """The labels with each patient's rule-based segment (id = its priority), and the names by id."""
    check_rule_segment_columns(rule_segments.columns)
    rules = rule_segments.select(*RULE_SEGMENT_COLUMNS)
    segments = labels.join(rules.select("subject_id", col("segment_priority").alias("segment_id")),
                           "subject_id", "left")
    if (rules.count() != rules.select("subject_id").distinct().count()
            or segments.where(col("segment_id").isNull()).count()):
        raise rule_segments_mismatch()
    pairs = (rules.select("segment_priority", "segment_name").distinct()
             .orderBy("segment_priority", "segment_name").toPandas())
    return segments, rule_segment_names(pairs)
