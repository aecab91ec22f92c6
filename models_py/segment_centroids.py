"""Segment means in original units; logic in segmentation.pipeline.segment_centroids."""

from segmentation.config import ClusteringConfig
from segmentation.pipeline import segment_centroids
from segmentation.warehouse import read_features


def model(dbt, session):
    config = ClusteringConfig.from_mapping(dbt.config.get("clustering"))
    features = read_features(dbt.ref("patient_features"))
    segments = dbt.ref("patient_segments").df()
    return segment_centroids(features, segments, config)
