"""Reading the clustering inputs from the warehouse inside the dbt Python models."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from duckdb import CatalogException, DuckDBPyRelation

from segmentation.features import CATALOGUE


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


def read_truth(load_truth: Callable[[], DuckDBPyRelation]) -> pd.DataFrame | None:
    """The synthetic archetypes when the warehouse holds a generated population, else None (real data).

    `load_truth` is the model's dbt.source("synthetic_truth", "patient_archetypes"), which fails when the
    schema is absent: the generator writes it, the loader drops it. It feeds evaluation only.
    """
    try:
        relation = load_truth()
    except CatalogException:
        return None
    return relation.project("subject_id, archetype").df()
