"""Candidate clusterings scored on a seeded sample; logic in segmentation.pipeline.evaluate_candidates."""

from typing import Any

import pandas as pd
from duckdb import DuckDBPyConnection, DuckDBPyRelation

from segmentation.config import ClusteringConfig
from segmentation.pipeline import evaluate_candidates
from segmentation.warehouse import read_features, read_truth


def model(dbt: Any, session: DuckDBPyConnection) -> pd.DataFrame:
    config = ClusteringConfig.from_mapping(dbt.config.get("clustering"))
    features = read_features(dbt.ref("patient_features"))

    # The ground truth of a synthetic population; absent on real data, where read_truth gives None. (A call
    # inside a def, not a lambda argument, so that dbt's parser finds the source for the lineage.)
    def truth_source() -> DuckDBPyRelation:
        return dbt.source("synthetic_truth", "patient_archetypes")

    return evaluate_candidates(features, config, read_truth(truth_source))
