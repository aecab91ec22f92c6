"""Segment means in original units; logic in segmentation.pipeline.segment_centroids."""

from typing import Any

import pandas as pd
from duckdb import DuckDBPyConnection

from segmentation.config import ClusteringConfig
from segmentation.pipeline import segment_centroids
from segmentation.warehouse import read_features, read_segments


def model(dbt: Any, session: DuckDBPyConnection) -> pd.DataFrame:
    config = ClusteringConfig.from_mapping(dbt.config.get("clustering"))
    features = read_features(dbt.ref("patient_features"))
    segments = read_segments(dbt.ref("patient_segments"))
    return segment_centroids(features, segments, config)
