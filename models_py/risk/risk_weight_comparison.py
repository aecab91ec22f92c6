"""Expert risk weights beside weights fitted on the history; logic in segmentation.risk_validation."""

from typing import Any

import pandas as pd
from duckdb import DuckDBPyConnection

from segmentation.risk_validation import ValidationConfig, observation_columns, weight_table


def model(dbt: Any, session: DuckDBPyConnection) -> pd.DataFrame:
    config = ValidationConfig.from_mapping(dbt.config.get("risk_validation"))
    relation = dbt.ref("int_risk_validation_observations")
    observations = relation.project(", ".join(observation_columns())).df()
    weights = dbt.ref("int_risk_component_weights").df()
    expert_weights = dict(zip(weights["component"], weights["weight"], strict=True))
    return weight_table(observations, expert_weights, config)
