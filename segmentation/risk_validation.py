"""Prospective validation of the risk score against its baselines, as the dbt Python models
`risk_validation` and `risk_weight_comparison` report it.

Input: `int_risk_validation_observations`, one row per discharge a patient survived, with the scores known at
that discharge and what happened after it. For each outcome (30-day readmission, death within a year) every
scorer is ranked by AUROC with a 95 % bootstrap interval:

- `risk_score`: the five components with the expert weights of var risk_component_weights;
- `charlson_index`, `lace_index`: the baselines (Charlson with age; LACE, van Walraven et al. CMAJ 2010);
- `fitted_weights`: the same five components weighted by a logistic regression fitted on the warehouse's own
  history, scored out of fold (folds by patient, so no patient is scored by a model that saw them).

The bootstrap resamples patients, not discharges (a patient's discharges are not independent), with Poisson(1)
weights per patient: for populations of this size it is the multinomial bootstrap to within sampling error,
and it lets every resample reuse one sort of the scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

COMPONENTS: tuple[str, ...] = (
    "clinical_complexity", "age", "functional_decline", "disease_specific", "social_determinants",
)
OUTCOMES: tuple[str, ...] = ("readmitted_30d", "died_within_1y")
BASELINES: tuple[str, ...] = ("risk_score", "charlson_index", "lace_index")
FITTED_SCORER = "fitted_weights"
SOURCE = "intermediate.int_risk_validation_observations"
VALIDATION_COLUMNS: tuple[str, ...] = (
    "outcome", "scorer", "n_index_discharges", "n_patients", "n_positive", "event_rate", "auroc",
    "auroc_ci_low", "auroc_ci_high", "bootstrap_resamples",
)
WEIGHT_COLUMNS: tuple[str, ...] = (
    "outcome", "component", "expert_weight", "fitted_coefficient", "fitted_weight", "n_index_discharges",
)


class ValidationError(ValueError):
    """Observations or settings that cannot be validated; the message names the column or var."""


@dataclass(frozen=True)
class ValidationConfig:
    """Field `x` is the dbt var `risk_validation_x`."""

    bootstrap_resamples: int = 200
    random_seed: int = 42
    cv_folds: int = 5

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> ValidationConfig:
        values = dict(mapping or {})
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValidationError(f"unknown setting(s): {', '.join('risk_validation_' + n for n in unknown)}")
        try:
            config = cls(**{name: int(value) for name, value in values.items()})
        except (TypeError, ValueError) as error:
            raise ValidationError(f"risk_validation settings must be whole numbers: {error}") from error
        if config.bootstrap_resamples < 20:
            raise ValidationError("dbt var risk_validation_bootstrap_resamples: at least 20 for a 95 % "
                                  "interval")
        if config.cv_folds < 2:
            raise ValidationError("dbt var risk_validation_cv_folds: at least 2")
        return config


def tie_groups(scores: np.ndarray) -> np.ndarray:
    """Each score's rank among the distinct scores (ties share one), so AUROC needs one sort per scorer."""
    return np.unique(scores, return_inverse=True)[1]


def weighted_auroc(groups: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> float | None:
    """Mann-Whitney AUROC with observation weights; a tied positive-negative pair counts one half."""
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    positives = np.bincount(groups, weights=weights * positive, minlength=n_groups)
    negatives = np.bincount(groups, weights=weights * ~positive, minlength=n_groups)
    total_pos, total_neg = positives.sum(), negatives.sum()
    if total_pos == 0 or total_neg == 0:
        return None
    negatives_below = np.cumsum(negatives) - negatives
    return float((positives * (negatives_below + 0.5 * negatives)).sum() / (total_pos * total_neg))


def bootstrap_aurocs(group_sets: Mapping[str, np.ndarray], positive: np.ndarray, patient_index: np.ndarray,
                     resamples: int, seed: int) -> dict[str, np.ndarray]:
    """AUROC of every scorer on each patient-level Poisson bootstrap resample (same resamples for all)."""
    rng = np.random.default_rng(seed)
    n_patients = int(patient_index.max()) + 1
    results: dict[str, list[float]] = {name: [] for name in group_sets}
    for _ in range(resamples):
        weights = rng.poisson(1.0, size=n_patients).astype(np.float64)[patient_index]
        for name, groups in group_sets.items():
            value = weighted_auroc(groups, positive, weights)
            results[name].append(np.nan if value is None else value)
    return {name: np.asarray(values) for name, values in results.items()}


def cross_validated_risks(components: np.ndarray, positive: np.ndarray, patient_index: np.ndarray,
                          config: ValidationConfig) -> np.ndarray | None:
    """Out-of-fold predicted risks of a logistic regression on the components; None when a fold cannot be
    fitted (an outcome absent from some training fold, as in a tiny population)."""
    n_folds = min(config.cv_folds, int(patient_index.max()) + 1) if len(positive) else 0
    if n_folds < 2 or positive.all() or not positive.any():
        return None
    predictions = np.empty(len(positive))
    for train, test in GroupKFold(n_splits=n_folds).split(components, positive, groups=patient_index):
        if positive[train].all() or not positive[train].any():
            return None
        model = LogisticRegression(max_iter=1000).fit(components[train], positive[train])
        predictions[test] = model.predict_proba(components[test])[:, 1]
    return predictions


def fitted_coefficients(components: np.ndarray, positive: np.ndarray) -> np.ndarray | None:
    """Logistic regression coefficients of the components on everyone; None when the outcome never varies."""
    if positive.all() or not positive.any():
        return None
    return LogisticRegression(max_iter=1000).fit(components, positive).coef_[0]


def check_observations(observations: pd.DataFrame) -> None:
    needed = ["subject_id", *BASELINES, *OUTCOMES, *(f"{c}_score" for c in COMPONENTS)]
    missing = [column for column in needed if column not in observations.columns]
    if missing:
        raise ValidationError(f"{SOURCE} lacks column(s) {', '.join(missing)}")
    for column in ["subject_id", *BASELINES, *(f"{c}_score" for c in COMPONENTS)]:
        n_null = int(observations[column].isna().sum())
        if n_null:
            raise ValidationError(f"{SOURCE}.{column} is NULL in {n_null} row(s)")


def outcome_frame(observations: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The outcome's cohort: index discharges whose outcome was observed (NULL = censored), stable order."""
    cohort = observations[observations[outcome].notna()]
    order = ["subject_id", "index_hadm_id"] if "index_hadm_id" in cohort else ["subject_id"]
    return cohort.sort_values(order, kind="stable").reset_index(drop=True)


def outcome_arrays(cohort: pd.DataFrame, outcome: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(outcome flags, patient index for grouping, component matrix) of a cohort."""
    positive = cohort[outcome].astype(bool).to_numpy()
    patient_index = pd.factorize(cohort["subject_id"])[0]
    components = cohort[[f"{c}_score" for c in COMPONENTS]].to_numpy(dtype=np.float64)
    return positive, patient_index, components


def validate_outcome(cohort: pd.DataFrame, outcome: str, config: ValidationConfig) -> list[dict[str, object]]:
    positive, patient_index, components = outcome_arrays(cohort, outcome)
    scorers = {name: cohort[name].to_numpy(dtype=np.float64) for name in BASELINES}
    fitted = cross_validated_risks(components, positive, patient_index, config)
    if fitted is not None:
        scorers[FITTED_SCORER] = fitted
    group_sets = {name: tie_groups(values) for name, values in scorers.items()}
    samples = (bootstrap_aurocs(group_sets, positive, patient_index, config.bootstrap_resamples,
                                config.random_seed) if len(cohort) else {})
    rows = []
    for name in (*BASELINES, FITTED_SCORER):
        groups = group_sets.get(name)
        point = weighted_auroc(groups, positive, np.ones(len(positive))) if groups is not None else None
        draws = samples.get(name, np.array([np.nan]))
        finite = draws[np.isfinite(draws)]
        has_interval = point is not None and len(finite) > 0
        rows.append({
            "outcome": outcome,
            "scorer": name,
            "n_index_discharges": len(cohort),
            "n_patients": int(cohort["subject_id"].nunique()),
            "n_positive": int(positive.sum()),
            "event_rate": float(positive.mean()) if len(cohort) else None,
            "auroc": point,
            "auroc_ci_low": float(np.percentile(finite, 2.5)) if has_interval else None,
            "auroc_ci_high": float(np.percentile(finite, 97.5)) if has_interval else None,
            "bootstrap_resamples": config.bootstrap_resamples,
        })
    return rows


def validation_table(observations: pd.DataFrame, config: ValidationConfig) -> pd.DataFrame:
    """risk_validation: one row per outcome and scorer."""
    check_observations(observations)
    rows = [row for outcome in OUTCOMES
            for row in validate_outcome(outcome_frame(observations, outcome), outcome, config)]
    return pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS)).astype(
        {"auroc": "float64", "auroc_ci_low": "float64", "auroc_ci_high": "float64", "event_rate": "float64"})


def weight_table(observations: pd.DataFrame, expert_weights: Mapping[str, Any]) -> pd.DataFrame:
    """risk_weight_comparison: per outcome and component, the expert weight next to the fitted one (the
    positive part of the logistic coefficients, scaled to sum to 1, as the expert weights do)."""
    check_observations(observations)
    missing = [component for component in COMPONENTS if component not in expert_weights]
    if missing:
        raise ValidationError(f"dbt var risk_component_weights lacks {', '.join(missing)}")
    rows = []
    for outcome in OUTCOMES:
        cohort = outcome_frame(observations, outcome)
        positive, _, components = outcome_arrays(cohort, outcome)
        coefficients = fitted_coefficients(components, positive) if len(cohort) else None
        positive_part = None if coefficients is None else np.clip(coefficients, 0, None)
        usable = positive_part is not None and positive_part.sum() > 0
        for position, component in enumerate(COMPONENTS):
            rows.append({
                "outcome": outcome,
                "component": component,
                "expert_weight": float(expert_weights[component]),
                "fitted_coefficient": None if coefficients is None else float(coefficients[position]),
                "fitted_weight": float(positive_part[position] / positive_part.sum()) if usable else None,
                "n_index_discharges": len(cohort),
            })
    return pd.DataFrame(rows, columns=list(WEIGHT_COLUMNS)).astype(
        {"fitted_coefficient": "float64", "fitted_weight": "float64"})
