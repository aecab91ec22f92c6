"""Prospective validation of the risk score against its baselines, as the dbt Python models
`risk_validation` and `risk_weight_comparison` report it.

Input: `int_risk_validation_observations`, one row per discharge a patient survived, with the scores known at
that discharge and what happened after it. For each outcome (30-day readmission, death within a year) every
scorer is ranked by AUROC with a 95 % bootstrap interval:

- `risk_score`: the five components with the expert weights of int_risk_component_weights;
- `charlson_index`, `lace_index`: the baselines (Charlson with age; LACE, van Walraven et al. CMAJ 2010);
- `elixhauser_van_walraven`, `ahrq_readmission_index`, `ahrq_mortality_index`: the Elixhauser indexes of the
  index admission (van Walraven et al. Med Care 2009; AHRQ's, Moore et al. Med Care 2017);
- `fitted_weights`: the same five components weighted by a logistic regression fitted on the warehouse's own
  history, scored out of fold (folds by patient, so no patient is scored by a model that saw them).

The bootstrap resamples patients, not discharges (a patient's discharges are not independent): each resample
draws patients with replacement and takes all their index discharges. Above `bootstrap_max_patients` patients
a resample draws that many (m) rather than all n, and the interval is the point estimate plus the resamples'
deviations scaled by sqrt(m / n): the m-out-of-n bootstrap (Bickel and Sakov), valid for AUROC because it is
asymptotically normal with a spread shrinking as 1 / sqrt(n). It keeps the interval's cost flat on populations
of millions. Scores are compared as tie groups of their distinct values; the fitted risks are rounded to 4
decimals first, as risk_score is.
The logistic regressions are fitted on at most `fit_sample_size` seeded index discharges: five coefficients
are pinned down long before that, and fitting on hundreds of thousands of rows would only cost time.

The ROC curves (dbt Python model `risk_validation_roc`, bi.risk_roc_curve) are drawn through few enough points
that none describes a small group: walking the discharges from the highest score down, a point is placed only
where a threshold between two distinct scores closes a step holding at least `min_cell_size` distinct patients
among its positive discharges and as many among its negative ones (a remainder too small for a step is merged
into the last one). Every point then stands for groups of at least that many patients, and the area under
the coarse curve differs from the exact AUROC by at most half the summed products of the steps' widths and
heights.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

COMPONENTS: tuple[str, ...] = (
    "clinical_complexity", "age", "functional_decline", "disease_specific", "social_determinants",
)
OUTCOMES: tuple[str, ...] = ("readmitted_30d", "died_within_1y")
BASELINES: tuple[str, ...] = (
    "risk_score", "charlson_index", "lace_index", "elixhauser_van_walraven", "ahrq_readmission_index",
    "ahrq_mortality_index",
)
FITTED_SCORER = "fitted_weights"
SOURCE = "intermediate.int_risk_validation_observations"
VALIDATION_COLUMNS: tuple[str, ...] = (
    "outcome", "scorer", "n_index_discharges", "n_patients", "n_positive", "event_rate", "auroc",
    "auroc_ci_low", "auroc_ci_high", "bootstrap_resamples",
)
# Most points of a ROC curve: a step also holds at least 1 / ROC_MAX_POINTS of the positives and of the
# negatives, so that a curve of a large population stays small enough to draw while the coarse curve's area
# stays within 1 / (2 * ROC_MAX_POINTS) of the AUROC.
ROC_MAX_POINTS = 200
ROC_COLUMNS: tuple[str, ...] = (
    "outcome", "scorer", "point_index", "score_threshold", "false_positive_rate", "true_positive_rate",
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
    fit_sample_size: int = 50_000
    bootstrap_max_patients: int = 20_000

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
        if config.fit_sample_size < 100:
            raise ValidationError("dbt var risk_validation_fit_sample_size: at least 100")
        if config.bootstrap_max_patients < 100:
            raise ValidationError("dbt var risk_validation_bootstrap_max_patients: at least 100")
        return config


def outcome_codes(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, int]:
    """Per observation 2 * (rank of its score among the distinct scores) + outcome, and the number of distinct
    scores: one weighted count over these codes gives every tie group's negatives and positives."""
    groups = np.unique(scores, return_inverse=True)[1]
    return groups * 2 + positive.astype(np.int64), int(groups.max()) + 1 if len(groups) else 0


def weighted_auroc(codes: np.ndarray, n_groups: int, weights: np.ndarray) -> float | None:
    """Mann-Whitney AUROC with observation weights; a tied positive-negative pair counts one half."""
    counts = np.bincount(codes, weights=weights, minlength=2 * n_groups)
    negatives, positives = counts[0::2], counts[1::2]
    total_pos, total_neg = positives.sum(), negatives.sum()
    if total_pos == 0 or total_neg == 0:
        return None
    negatives_below = np.cumsum(negatives) - negatives
    return float((positives * (negatives_below + 0.5 * negatives)).sum() / (total_pos * total_neg))


def patient_rows(patient_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First row and number of rows of each patient, for rows sorted by patient."""
    counts = np.bincount(patient_index)
    return np.cumsum(counts) - counts, counts


def resample_rows(starts: np.ndarray, counts: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """All rows of the drawn patients (a patient drawn twice contributes its rows twice)."""
    lengths = counts[drawn]
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts[drawn], lengths) + offsets


def bootstrap_intervals(coded: Mapping[str, tuple[np.ndarray, int]], points: Mapping[str, float | None],
                        patient_index: np.ndarray,
                        config: ValidationConfig) -> dict[str, tuple[float, float]]:
    """95 % interval of each scorer's AUROC from the patient-level bootstrap: the percentiles of the resamples
    when all patients are drawn, their distances from the point estimate scaled by sqrt(m / n) when m of n are
    (m-out-of-n). Rows must be sorted by patient; the same resamples serve every scorer."""
    starts, counts = patient_rows(patient_index)
    n_patients = len(counts)
    drawn_size = min(n_patients, config.bootstrap_max_patients)
    scale = np.sqrt(drawn_size / n_patients)
    rng = np.random.default_rng(config.random_seed)
    draws: dict[str, list[float]] = {name: [] for name in coded}
    for _ in range(config.bootstrap_resamples):
        rows = resample_rows(starts, counts, rng.integers(0, n_patients, size=drawn_size))
        weights = np.ones(len(rows))
        for name, (codes, n_groups) in coded.items():
            value = weighted_auroc(codes[rows], n_groups, weights)
            draws[name].append(np.nan if value is None else value)
    intervals = {}
    for name, values in draws.items():
        finite = np.asarray(values)[np.isfinite(values)]
        point = points.get(name)
        if point is None or not len(finite):
            continue
        deviations = (np.percentile(finite, [2.5, 97.5]) - point) * scale
        low, high = point + deviations
        intervals[name] = (float(max(low, 0.0)), float(min(high, 1.0)))
    return intervals


def fit_rows(train: np.ndarray, config: ValidationConfig) -> np.ndarray:
    """The training rows a regression is fitted on: all of them, or a seeded sample of fit_sample_size."""
    if len(train) <= config.fit_sample_size:
        return train
    rng = np.random.default_rng(config.random_seed)
    return np.sort(rng.choice(train, config.fit_sample_size, replace=False))


def patient_folds(patient_index: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold of each row: patients are dealt to folds in a seeded random order, so all the rows of a patient
    share a fold and fold sizes differ by at most one patient."""
    n_patients = int(patient_index.max()) + 1
    return (np.random.default_rng(seed).permutation(n_patients) % n_folds)[patient_index]


# risk_validation and risk_validation_roc run in the same dbt process (dbt-duckdb executes Python models in
# it) and both need the same out-of-fold risks: the first to ask fits them, the other waits for it and reuses
# them. Keyed by the exact inputs and settings, so a reuse is always the result a fit would give.
_FITTED_CACHE: OrderedDict[tuple[object, ...], np.ndarray | None] = OrderedDict()
_FITTED_CACHE_SIZE = len(OUTCOMES)
_FITTED_LOCK = threading.Lock()


def _inputs_key(components: np.ndarray, positive: np.ndarray, patient_index: np.ndarray,
                config: ValidationConfig) -> tuple[object, ...]:
    digest = hashlib.blake2b(digest_size=32)
    for array in (components, positive, patient_index):
        contiguous = np.ascontiguousarray(array)
        digest.update(f"{contiguous.dtype.str}{contiguous.shape}".encode())
        digest.update(contiguous.data)
    return (digest.hexdigest(), config.cv_folds, config.fit_sample_size, config.random_seed)


def cross_validated_risks(components: np.ndarray, positive: np.ndarray, patient_index: np.ndarray,
                          config: ValidationConfig) -> np.ndarray | None:
    """Out-of-fold predicted risks of a logistic regression on the components, folds by patient; None when a
    fold cannot be fitted (an outcome absent from some training fold, as in a tiny population). Computed once
    per distinct input in a process (see _FITTED_CACHE); each caller gets its own copy."""
    key = _inputs_key(components, positive, patient_index, config)
    with _FITTED_LOCK:
        if key not in _FITTED_CACHE:
            _FITTED_CACHE[key] = fit_cross_validated_risks(components, positive, patient_index, config)
            while len(_FITTED_CACHE) > _FITTED_CACHE_SIZE:
                _FITTED_CACHE.popitem(last=False)
        fitted = _FITTED_CACHE[key]
    return None if fitted is None else fitted.copy()


def fit_cross_validated_risks(components: np.ndarray, positive: np.ndarray, patient_index: np.ndarray,
                              config: ValidationConfig) -> np.ndarray | None:
    """cross_validated_risks, always fitted."""
    n_folds = min(config.cv_folds, int(patient_index.max()) + 1) if len(positive) else 0
    if n_folds < 2 or positive.all() or not positive.any():
        return None
    folds = patient_folds(patient_index, n_folds, config.random_seed)
    predictions = np.empty(len(positive))
    for fold in range(n_folds):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        if positive[train].all() or not positive[train].any():
            return None
        rows = fit_rows(train, config)
        model = LogisticRegression(max_iter=1000).fit(components[rows], positive[rows])
        predictions[test] = model.predict_proba(components[test])[:, 1]
    return predictions


def fitted_coefficients(components: np.ndarray, positive: np.ndarray,
                        config: ValidationConfig) -> np.ndarray | None:
    """Logistic regression coefficients of the components; None when the outcome never varies."""
    if positive.all() or not positive.any():
        return None
    rows = fit_rows(np.arange(len(positive)), config)
    return LogisticRegression(max_iter=1000).fit(components[rows], positive[rows]).coef_[0]


def observation_columns() -> list[str]:
    """The columns of int_risk_validation_observations the validation reads (the others are never loaded)."""
    return ["subject_id", "index_hadm_id", *BASELINES, *OUTCOMES, *(f"{c}_score" for c in COMPONENTS)]


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


def scorer_values(cohort: pd.DataFrame, positive: np.ndarray, patient_index: np.ndarray,
                  components: np.ndarray, config: ValidationConfig) -> dict[str, np.ndarray]:
    """Each scorer's score of every discharge of the cohort: the baselines as given, the fitted weights' risks
    out of fold and rounded to 4 decimals (absent when they cannot be fitted). The AUROCs and the ROC curves
    both read these, so the two always describe the same scores."""
    scorers = {name: cohort[name].to_numpy(dtype=np.float64) for name in BASELINES}
    fitted = cross_validated_risks(components, positive, patient_index, config)
    if fitted is not None:
        scorers[FITTED_SCORER] = fitted.round(4)
    return scorers


def validate_outcome(cohort: pd.DataFrame, outcome: str, config: ValidationConfig) -> list[dict[str, object]]:
    positive, patient_index, components = outcome_arrays(cohort, outcome)
    scorers = scorer_values(cohort, positive, patient_index, components, config)
    coded = {name: outcome_codes(values, positive) for name, values in scorers.items()}
    points = {name: weighted_auroc(*coded[name], np.ones(len(positive))) for name in coded}
    intervals = bootstrap_intervals(coded, points, patient_index, config) if len(cohort) else {}
    rows = []
    for name in (*BASELINES, FITTED_SCORER):
        point = points.get(name)
        interval = intervals.get(name, (None, None))
        rows.append({
            "outcome": outcome,
            "scorer": name,
            "n_index_discharges": len(cohort),
            "n_patients": int(cohort["subject_id"].nunique()),
            "n_positive": int(positive.sum()),
            "event_rate": float(positive.mean()) if len(cohort) else None,
            "auroc": point,
            "auroc_ci_low": interval[0],
            "auroc_ci_high": interval[1],
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


def distinct_patients(patients: np.ndarray) -> int:
    return len(np.unique(patients))


def roc_step_ends(scores: np.ndarray, positive: np.ndarray, patient_index: np.ndarray, min_cell_size: int,
                  max_points: int = ROC_MAX_POINTS) -> np.ndarray:
    """Where the ROC curve's steps end, as numbers of discharges flagged (observations sorted by descending
    score): 0, then each smallest end at a change of score such that the step since the previous end holds at
    least min_cell_size distinct patients among its positives and among its negatives, and at least
    1 / max_points of all positives and of all negatives, the last end being all discharges. Just [0] when
    the cohort cannot fill two such steps: a curve of one step is the diagonal and says nothing."""
    n = len(scores)
    # Ends of tie groups: a threshold can fall between two distinct scores, never inside a tie.
    group_ends = np.append(np.flatnonzero(np.diff(scores)) + 1, n)
    positives_before = np.concatenate([[0], np.cumsum(positive)])
    negatives_before = np.arange(n + 1) - positives_before
    positives_at_ends, negatives_at_ends = positives_before[group_ends], negatives_before[group_ends]
    least_positive = max(min_cell_size, int(np.ceil(positives_before[-1] / max_points)))
    least_negative = max(min_cell_size, int(np.ceil(negatives_before[-1] / max_points)))
    ends, start = [0], 0
    while True:
        # A step of k discharges holds at most k patients, so first find the end that has enough discharges,
        # then move it on by the patients still missing until the distinct patients suffice.
        need_positive, need_negative = least_positive, least_negative
        while True:
            group = max(
                np.searchsorted(positives_at_ends, positives_before[start] + need_positive),
                np.searchsorted(negatives_at_ends, negatives_before[start] + need_negative),
            )
            if group == len(group_ends):
                end = None
                break
            end = int(group_ends[group])
            step_positive = positive[start:end]
            step_patients = patient_index[start:end]
            n_positive_patients = distinct_patients(step_patients[step_positive])
            n_negative_patients = distinct_patients(step_patients[~step_positive])
            if n_positive_patients >= min_cell_size and n_negative_patients >= min_cell_size:
                break
            need_positive = int(step_positive.sum()) + max(min_cell_size - n_positive_patients, 0)
            need_negative = int((~step_positive).sum()) + max(min_cell_size - n_negative_patients, 0)
        if end is None:
            break
        ends.append(end)
        start = end
    if len(ends) < 3:
        return np.array([0])
    # The remainder after the last full step joins it: together they hold at least as many patients.
    ends[-1] = n
    return np.asarray(ends)


def roc_curve_points(scores: np.ndarray, positive: np.ndarray, patient_index: np.ndarray,
                     min_cell_size: int) -> pd.DataFrame:
    """(point_index, score_threshold, false_positive_rate, true_positive_rate) of the curve through the step
    ends of roc_step_ends: flagging every discharge scored at or above the threshold; the first point, (0, 0),
    flags none and has no threshold. Empty when the cohort is too small for a curve."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_positive = scores[order], positive[order]
    ends = roc_step_ends(sorted_scores, sorted_positive, patient_index[order], min_cell_size)
    if len(ends) < 2:
        return pd.DataFrame(columns=list(ROC_COLUMNS[2:])).astype("float64").astype({"point_index": "int64"})
    positives_before = np.concatenate([[0], np.cumsum(sorted_positive)])
    negatives_before = np.arange(len(scores) + 1) - positives_before
    thresholds = np.concatenate([[np.nan], sorted_scores[ends[1:] - 1]])
    return pd.DataFrame({
        "point_index": np.arange(len(ends)),
        "score_threshold": thresholds,
        "false_positive_rate": negatives_before[ends] / negatives_before[-1],
        "true_positive_rate": positives_before[ends] / positives_before[-1],
    })


def roc_table(observations: pd.DataFrame, config: ValidationConfig, min_cell_size: int) -> pd.DataFrame:
    """risk_validation_roc: the ROC curve of each outcome and scorer of risk_validation, a row per point."""
    if min_cell_size < 1:
        raise ValidationError(f"dbt var min_cell_size: expected a whole number >= 1, got {min_cell_size}")
    check_observations(observations)
    curves = []
    for outcome in OUTCOMES:
        cohort = outcome_frame(observations, outcome)
        positive, patient_index, components = outcome_arrays(cohort, outcome)
        for scorer, scores in scorer_values(cohort, positive, patient_index, components, config).items():
            points = roc_curve_points(scores, positive, patient_index, min_cell_size)
            curves.append(points.assign(outcome=outcome, scorer=scorer))
    return pd.concat(curves, ignore_index=True)[list(ROC_COLUMNS)].astype(
        {"point_index": "int64", "score_threshold": "float64", "false_positive_rate": "float64",
         "true_positive_rate": "float64"})


def weight_table(observations: pd.DataFrame, expert_weights: Mapping[str, Any],
                 config: ValidationConfig) -> pd.DataFrame:
    """risk_weight_comparison: per outcome and component, the expert weight next to the fitted one (the
    positive part of the logistic coefficients, scaled to sum to 1, as the expert weights do)."""
    check_observations(observations)
    missing = [component for component in COMPONENTS if component not in expert_weights]
    if missing:
        raise ValidationError(f"int_risk_component_weights lacks {', '.join(missing)}")
    rows = []
    for outcome in OUTCOMES:
        cohort = outcome_frame(observations, outcome)
        positive, _, components = outcome_arrays(cohort, outcome)
        coefficients = fitted_coefficients(components, positive, config) if len(cohort) else None
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
