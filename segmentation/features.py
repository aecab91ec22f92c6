"""The patient feature catalogue and the feature matrix the clustering algorithms see.

Every column of `marts.patient_features` that can describe a patient's clinical need or utilization is
listed in `CATALOGUE` with how it enters the matrix. Social proxies (insurance, language, marital status,
race) are deliberately absent: care-management segments must follow need and use of care, and clustering on
them would split patients by demographics the care team cannot act on. `gender` is in the catalogue (encoded
1 = 'F') so it can be profiled and optionally clustered on, but it is not a default feature: a binary column
of that weight splits every profile into a female and a male half without changing the care action.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
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
    standardization: Standardization


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


def column_maxima(frame: pd.DataFrame, specs: Sequence[FeatureSpec]) -> np.ndarray:
    """The largest value in original units of every column filled with its maximum (NaN when the column has no
    value here, and for the other columns). The maximum of parts is the maximum of the whole, so a population
    split into partitions gives the same fills."""
    maxima = np.full(len(specs), np.nan)
    for position, spec in enumerate(specs):
        values = raw_feature_values(frame, spec) if spec.null_fill == "max" else np.empty(0)
        if (~np.isnan(values)).any():
            maxima[position] = np.nanmax(values)
    return maxima


def null_fills(maxima: np.ndarray, specs: Sequence[FeatureSpec]) -> np.ndarray:
    """The value a NULL takes in each column, from the population's `column_maxima`: 0 for "zero" and for a
    "max" column without any value, NaN where a NULL is an error."""
    fills = np.full(len(specs), np.nan)
    for position, spec in enumerate(specs):
        if spec.null_fill == "zero" or (spec.null_fill == "max" and np.isnan(maxima[position])):
            fills[position] = 0.0
        elif spec.null_fill == "max":
            fills[position] = maxima[position]
    return fills


def filled_feature_values(frame: pd.DataFrame, spec: FeatureSpec, fill: float) -> np.ndarray:
    """Original-unit values with the population's NULL fill for the column; an unexpected NULL is an error."""
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
    return np.where(nulls, fill, values)


def transformed_feature_values(frame: pd.DataFrame, spec: FeatureSpec, fill: float) -> np.ndarray:
    values = filled_feature_values(frame, spec, fill)
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


def transformed_matrix(frame: pd.DataFrame, specs: Sequence[FeatureSpec], fills: np.ndarray) -> np.ndarray:
    """Rows of `frame` as filled and transformed clustering features (before standardization)."""
    return np.column_stack([transformed_feature_values(frame, spec, float(fill))
                            for spec, fill in zip(specs, fills, strict=True)])


def add_rows(total: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    """`total` plus every row of `rows`, added one row after another (None: no row added yet).

    Floating-point sums depend on the order of their terms. numpy sums the rows of a matrix of two or more
    columns in this order, so folding a matrix block by block gives its column sums to the last bit, whatever
    the blocks (a single column numpy would sum pairwise, which needs the whole column at once).
    """
    if len(rows) == 0:
        return total
    stacked = rows if total is None else np.vstack([total, rows])
    return np.add.accumulate(stacked, axis=0)[-1]


def column_sums(blocks: Iterable[np.ndarray], width: int) -> np.ndarray:
    total: np.ndarray | None = None
    for block in blocks:
        total = add_rows(total, block)
    return np.zeros(width) if total is None else total


def column_means(sums: np.ndarray, n_patients: int) -> np.ndarray:
    return sums / n_patients if n_patients else np.zeros(len(sums))


def squared_deviations(transformed: np.ndarray, means: np.ndarray) -> np.ndarray:
    deviations = transformed - means
    return deviations * deviations


@dataclass(frozen=True)
class Standardization:
    """What turns a patient's features into clustering coordinates, fitted once on the whole population: the
    value a NULL takes, and the mean and scale of every transformed column. Applied to any part of the
    population (a chunk, a partition) it gives exactly that part's rows of the whole matrix: every step after
    the fit works value by value."""

    columns: tuple[str, ...]
    fills: np.ndarray
    means: np.ndarray
    scales: np.ndarray

    @classmethod
    def from_sums(cls, columns: Sequence[str], fills: np.ndarray, n_patients: int, sums: np.ndarray,
                  squared_deviation_sums: np.ndarray) -> Standardization:
        """From the population's column sums and sums of `squared_deviations` (each added in subject_id order
        by `add_rows`), divided as numpy's mean and population standard deviation divide them. A constant
        column has no spread to standardize: it is centred to 0 and keeps unit scale, so it adds no distance
        between patients."""
        spreads = np.sqrt(squared_deviation_sums / n_patients) if n_patients else np.zeros(len(columns))
        return cls(columns=tuple(columns), fills=fills, means=column_means(sums, n_patients),
                   scales=np.where(spreads > 0, spreads, 1.0))

    def transformed(self, frame: pd.DataFrame) -> np.ndarray:
        return transformed_matrix(frame, [feature_spec(column) for column in self.columns], self.fills)

    def standardize(self, transformed: np.ndarray) -> np.ndarray:
        return (transformed - self.means) / self.scales


def row_blocks(matrix: np.ndarray, block_rows: int) -> Iterator[np.ndarray]:
    return (matrix[start:start + block_rows] for start in range(0, len(matrix), block_rows))


def build_feature_matrix(frame: pd.DataFrame, columns: Sequence[str], block_rows: int) -> FeatureMatrix:
    """Transform and standardize `columns` of an already validated, sorted frame.

    The scaling is fitted once on the whole population and applied to every patient. The sums are folded
    `block_rows` rows at a time, which bounds the extra memory and does not change them.
    """
    specs = [feature_spec(column) for column in columns]
    fills = null_fills(column_maxima(frame, specs), specs)
    raw = transformed_matrix(frame, specs, fills)
    sums = column_sums(row_blocks(raw, block_rows), len(specs))
    means = column_means(sums, len(frame))
    squares = column_sums((squared_deviations(block, means) for block in row_blocks(raw, block_rows)),
                          len(specs))
    standardization = Standardization.from_sums(columns, fills, len(frame), sums, squares)
    return FeatureMatrix(
        subject_ids=frame["subject_id"].to_numpy(),
        standardized=standardization.standardize(raw),
        standardization=standardization,
    )


def profile_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Every catalogue feature in original units (booleans as 0/1, gender as female 0/1), NULL kept as NaN,
    for segment profiles and names."""
    return pd.DataFrame(
        {spec.column: raw_feature_values(frame, spec) for spec in CATALOGUE}, index=frame.index
    )
