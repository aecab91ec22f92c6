"""Reading the clustering inputs from the warehouse inside the dbt Python models."""

from __future__ import annotations

import pandas as pd
from duckdb import DuckDBPyConnection, DuckDBPyRelation

from segmentation.features import CATALOGUE

TRUTH_SCHEMA = "synthetic_truth"
TRUTH_TABLE = "patient_archetypes"


def feature_columns() -> list[str]:
    """The patient_features columns the clustering stage reads: the key and every catalogue feature (social
    proxies are never loaded)."""
    return ["subject_id", *(spec.column for spec in CATALOGUE)]


def read_features(relation: DuckDBPyRelation) -> pd.DataFrame:
    """patient_features (a DuckDB relation from dbt.ref) as a frame of the needed columns only, in
    subject_id order (sorting in the warehouse spares a copy of the frame in Python)."""
    return relation.project(", ".join(feature_columns())).order("subject_id").df()


def read_segments(relation: DuckDBPyRelation) -> pd.DataFrame:
    """patient_segments (a DuckDB relation from dbt.ref) with only what segment profiles need: the
    per-algorithm label columns are never converted."""
    return relation.project("subject_id, segment_id, segment_name").df()


def read_truth(connection: DuckDBPyConnection) -> pd.DataFrame | None:
    """The synthetic archetypes when the warehouse holds a generated population, else None (real data).

    Read outside dbt's graph on purpose: the table exists only for synthetic data and feeds evaluation only.
    """
    found = connection.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [TRUTH_SCHEMA, TRUTH_TABLE],
    ).fetchall()
    if found[0][0] == 0:
        return None
    return connection.execute(f"select subject_id, archetype from {TRUTH_SCHEMA}.{TRUTH_TABLE}").df()
