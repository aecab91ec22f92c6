"""The patient feature catalogue and the feature matrix the clustering algorithms see.

Every column of `marts.patient_features` that can describe a patient's clinical need or utilization is
listed in `CATALOGUE` with how it enters the matrix. Social proxies (insurance, language, marital status,
race) are deliberately absent: care-management segments must follow need and use of care, and clustering on
them would split patients by demographics the care team cannot act on. `gender` is in the catalogue (encoded
1 = 'F') so it can be profiled and optionally clustered on, but it is not a default feature: a binary column
of that weight splits every profile into a female and a male half without changing the care action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Transform = Literal["log1p", "identity"]
NullFill = Literal["error", "zero", "max"]


@dataclass(frozen=True)
class FeatureSpec:
    """How one `patient_features` column becomes a clustering / profiling feature."""

    column: str
    label: str
    transform: Transform
    null_fill: NullFill
    encode_as: str | None = None
    # Outcomes (deaths) are profiled and validated against, never clustered on: a segment found from who died
    # would describe its members' deaths, not their needs.
    is_outcome: bool = False


# Counts and durations are right-skewed (a few patients with dozens of admissions), so log1p keeps them from
# dominating the Euclidean distances. NULL handling follows the contract: charlson_*, the latest Elixhauser
# indexes and days_since_last_admission are NULL exactly when a patient has no admission. No admission means
# no billed diagnosis, so no comorbidity is evidenced (Charlson 0); the gap since a last admission that never
# happened is set to the longest gap observed in the population, i.e. "as long ago as anyone".
CATALOGUE: tuple[FeatureSpec, ...] = (
    FeatureSpec("age_at_last_admission", "age", "identity", "error"),
    FeatureSpec("anchor_age", "anchor age", "identity", "error"),
    FeatureSpec("gender", "female share", "identity", "error", encode_as="F"),
    FeatureSpec("n_admissions", "admissions", "log1p", "error"),
    FeatureSpec("n_emergency_admissions", "emergency admissions", "log1p", "error"),
    FeatureSpec("n_ed_admissions", "ED admissions", "log1p", "error"),
    FeatureSpec("avg_ed_hours", "ED hours", "log1p", "error"),
    FeatureSpec("avg_los_days", "length of stay", "log1p", "error"),
    FeatureSpec("total_los_days", "hospital days", "log1p", "error"),
    FeatureSpec("days_since_last_admission", "days since last admission", "log1p", "max"),
    FeatureSpec("n_unique_icd_codes", "diagnosis codes", "log1p", "error"),
    FeatureSpec("has_chronic_condition", "chronic condition share", "identity", "error"),
    FeatureSpec("n_chronic_conditions", "chronic conditions", "log1p", "error"),
    FeatureSpec("n_chronic_families", "condition families", "log1p", "error"),
    FeatureSpec("has_cardiometabolic", "cardiometabolic share", "identity", "error"),
    FeatureSpec("has_cardiovascular", "cardiovascular share", "identity", "error"),
    FeatureSpec("has_respiratory", "respiratory share", "identity", "error"),
    FeatureSpec("has_renal", "renal share", "identity", "error"),
    FeatureSpec("has_behavioral_health", "behavioral health share", "identity", "error"),
    FeatureSpec("has_neurological", "neurological share", "identity", "error"),
    FeatureSpec("has_cancer", "cancer share", "identity", "error"),
    FeatureSpec("has_liver", "liver disease share", "identity", "error"),
    FeatureSpec("charlson_max", "Charlson index", "identity", "zero"),
    FeatureSpec("charlson_latest", "latest Charlson index", "identity", "zero"),
    FeatureSpec("elixhauser_comorbidity_count", "Elixhauser comorbidities", "log1p", "error"),
    FeatureSpec("elixhauser_van_walraven_latest", "latest van Walraven score", "identity", "zero"),
    FeatureSpec("ahrq_readmission_index_latest", "latest AHRQ readmission index", "identity", "zero"),
    FeatureSpec("n_icu_stays", "ICU stays", "log1p", "error"),
    FeatureSpec("total_icu_days", "ICU days", "log1p", "error"),
    FeatureSpec("n_readmissions_30d", "30-day readmissions", "log1p", "error"),
    FeatureSpec("n_readmissions_60d", "60-day readmissions", "log1p", "error"),
    FeatureSpec("n_readmissions_90d", "90-day readmissions", "log1p", "error"),
    FeatureSpec("died_in_hospital", "in-hospital death share", "identity", "error", is_outcome=True),
    FeatureSpec("died_within_1y", "one-year mortality", "identity", "error", is_outcome=True),
)

CATALOGUE_BY_COLUMN: dict[str, FeatureSpec] = {spec.column: spec for spec in CATALOGUE}

SOURCE_NAME = "marts.patient_features"


class FeatureError(ValueError):
    """Input that cannot be turned into a feature matrix; the message names the column and patients."""


@dataclass(frozen=True)
class FeatureMatrix:
    """Standardized features of every patient, rows in `subject_ids` order (ascending)."""

    subject_ids: np.ndarray
    standardized: np.ndarray
    columns: tuple[str, ...]
    means: np.ndarray
    scales: np.ndarray


def feature_spec(column: str) -> FeatureSpec:
    if column not in CATALOGUE_BY_COLUMN:
        known = ", ".join(CATALOGUE_BY_COLUMN)
        raise FeatureError(f"'{column}' is not a clustering feature of {SOURCE_NAME}; known: {known}")
    return CATALOGUE_BY_COLUMN[column]


def validate_patient_frame(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Check keys and the needed columns, and return the frame sorted by subject_id (the canonical order
    every seeded step relies on)."""
    missing = [column for column in ("subject_id", *columns) if column not in frame.columns]
    if missing:
        raise FeatureError(f"{SOURCE_NAME} lacks column(s) {', '.join(missing)}")
    subject_ids = frame["subject_id"]
    if subject_ids.isna().any():
        rows = np.flatnonzero(subject_ids.isna().to_numpy())[:5].tolist()
        raise FeatureError(f"{SOURCE_NAME}.subject_id is NULL in row(s) {rows}")
    duplicated = subject_ids[subject_ids.duplicated()]
    if not duplicated.empty:
        raise FeatureError(
            f"{SOURCE_NAME}.subject_id is not unique: {duplicated.head(5).tolist()} appear more than once"
        )
    if subject_ids.is_monotonic_increasing:
        # Already in order (the dbt models sort in the warehouse): no copy of a large frame.
        return frame.reset_index(drop=True)
    return frame.sort_values("subject_id", kind="stable").reset_index(drop=True)


def raw_feature_values(frame: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """One column in original units as float (booleans and the encoded category as 0/1), NULL as NaN."""
    column = frame[spec.column]
    if spec.encode_as is not None:
        encoded = (column == spec.encode_as).astype("Float64").where(column.notna())
        return encoded.to_numpy(dtype=float, na_value=np.nan)
    try:
        return column.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise FeatureError(f"{SOURCE_NAME}.{spec.column} is not numeric: {error}") from error


def filled_feature_values(frame: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """Original-unit values with the spec's documented NULL fill; an unexpected NULL is an error."""
    values = raw_feature_values(frame, spec)
    nulls = np.isnan(values)
    if not nulls.any():
        return values
    if spec.null_fill == "error":
        examples = frame["subject_id"].to_numpy()[nulls][:5].tolist()
        raise FeatureError(
            f"{SOURCE_NAME}.{spec.column} is NULL for {int(nulls.sum())} patient(s), e.g. subject_id "
            f"{examples}; the contract allows no NULL there"
        )
    fill = 0.0 if spec.null_fill == "zero" or nulls.all() else float(np.nanmax(values))
    return np.where(nulls, fill, values)


def transformed_feature_values(frame: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    values = filled_feature_values(frame, spec)
    if spec.transform == "identity":
        return values
    negative = values < 0
    if negative.any():
        examples = frame["subject_id"].to_numpy()[negative][:5].tolist()
        raise FeatureError(
            f"{SOURCE_NAME}.{spec.column} is negative for {int(negative.sum())} patient(s), e.g. subject_id "
            f"{examples}; counts and durations cannot be negative"
        )
    return np.log1p(values)


def build_feature_matrix(frame: pd.DataFrame, columns: Sequence[str]) -> FeatureMatrix:
    """Transform and standardize `columns` of an already validated, sorted frame.

    The scaling is fitted once on the whole population and applied to every patient. A constant column has no
    spread to standardize: it is centred to 0 and keeps unit scale, so it adds no distance between patients.
    """
    specs = [feature_spec(column) for column in columns]
    raw = np.column_stack([transformed_feature_values(frame, spec) for spec in specs])
    has_rows = len(frame) > 0
    means = raw.mean(axis=0) if has_rows else np.zeros(len(specs))
    spreads = raw.std(axis=0) if has_rows else np.zeros(len(specs))
    scales = np.where(spreads > 0, spreads, 1.0)
    return FeatureMatrix(
        subject_ids=frame["subject_id"].to_numpy(),
        standardized=(raw - means) / scales,
        columns=tuple(columns),
        means=means,
        scales=scales,
    )


def profile_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Every catalogue feature in original units (booleans as 0/1, gender as female 0/1), NULL kept as NaN,
    for segment profiles and names."""
    return pd.DataFrame(
        {spec.column: raw_feature_values(frame, spec) for spec in CATALOGUE}, index=frame.index
    )
