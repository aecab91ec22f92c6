"""What sets each segment apart; logic in segmentation.pipeline.segment_feature_importance."""

from segmentation.config import ClusteringConfig
from segmentation.pipeline import segment_feature_importance
from segmentation.warehouse import read_features


def model(dbt, session):
    config = ClusteringConfig.from_mapping(dbt.config.get("clustering"))
    features = read_features(dbt.ref("patient_features"))
    segments = dbt.ref("patient_segments").df()
    return segment_feature_importance(features, segments, config)
