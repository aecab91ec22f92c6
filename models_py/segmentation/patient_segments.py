"""Every patient's segment and per-algorithm labels; logic in segmentation.pipeline.segment_patients."""

from typing import Any

import pandas as pd
from duckdb import DuckDBPyConnection

from segmentation.config import ClusteringConfig
from segmentation.pipeline import segment_patients
from segmentation.warehouse import read_features


def model(dbt: Any, session: DuckDBPyConnection) -> pd.DataFrame:
    config = ClusteringConfig.from_mapping(dbt.config.get("clustering"))
    features = read_features(dbt.ref("patient_features"))
    evaluation = dbt.ref("cluster_evaluation").df()
    naming_rules = dbt.ref("segment_naming_rules").df()
    rule_segments = dbt.ref("patient_rule_segments").df()
    return segment_patients(features, evaluation, naming_rules, rule_segments, config)
