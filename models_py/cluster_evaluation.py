"""Candidate clusterings scored on a seeded sample; logic in segmentation.pipeline.evaluate_candidates."""

from segmentation.config import ClusteringConfig
from segmentation.pipeline import evaluate_candidates
from segmentation.warehouse import read_features, read_truth


def model(dbt, session):
    config = ClusteringConfig.from_mapping(dbt.config.get("clustering"))
    features = read_features(dbt.ref("patient_features"))
    return evaluate_candidates(features, config, read_truth(session))
