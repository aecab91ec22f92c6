"""AUROC of the risk score and its baselines, bootstrap intervals; logic in segmentation.risk_validation."""

from typing import Any

import pandas as pd
from duckdb import DuckDBPyConnection

from segmentation.risk_validation import ValidationConfig, observation_columns, validation_table


def model(dbt: Any, session: DuckDBPyConnection) -> pd.DataFrame:
    config = ValidationConfig.from_mapping(dbt.config.get("risk_validation"))
    relation = dbt.ref("int_risk_validation_observations")
    observations = relation.project(", ".join(observation_columns())).df()
    return validation_table(observations, config)
