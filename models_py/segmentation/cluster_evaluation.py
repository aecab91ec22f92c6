"""Candidate clusterings scored on a seeded sample; logic in segmentation.pipeline.evaluate_candidates."""

from typing import Any

import pandas as pd
from duckdb import DuckDBPyConnection

from segmentation.config import ClusteringConfig
from segmentation.pipeline import evaluate_candidates
from segmentation.warehouse import read_features, read_truth


def model(dbt: Any, session: DuckDBPyConnection) -> pd.DataFrame:
    config = ClusteringConfig.from_mapping(dbt.config.get("clustering"))
    features = read_features(dbt.ref("patient_features"))
    return evaluate_candidates(features, config, read_truth(session))
