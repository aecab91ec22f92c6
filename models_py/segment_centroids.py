"""Segment means in original units; logic in segmentation.pipeline.segment_centroids."""

from typing import Any

import pandas as pd
from duckdb import DuckDBPyConnection

from segmentation.config import ClusteringConfig
from segmentation.pipeline import segment_centroids
from segmentation.warehouse import read_features


def model(dbt: Any, session: DuckDBPyConnection) -> pd.DataFrame:
    config = ClusteringConfig.from_mapping(dbt.config.get("clustering"))
    features = read_features(dbt.ref("patient_features"))
    segments = dbt.ref("patient_segments").df()
    return segment_centroids(features, segments, config)
