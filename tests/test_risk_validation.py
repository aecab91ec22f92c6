"""segmentation.risk_validation on hand-made and simulated observations (no warehouse needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from segmentation.risk_validation import (
    COMPONENTS,
    FITTED_SCORER,
    ROC_COLUMNS,
    ValidationConfig,
    ValidationError,
    outcome_codes,
    roc_step_ends,
    roc_table,
    validation_table,
    weight_table,
    weighted_auroc,
)

EXPERT_WEIGHTS = {"clinical_complexity": 0.25, "age": 0.15, "functional_decline": 0.15,
                  "disease_specific": 0.35, "social_determinants": 0.1}


def simulated_observations(n_patients: int = 600, seed: int = 3) -> pd.DataFrame:
    """Index discharges whose outcomes depend on the disease-specific component only, several per patient."""
    rng = np.random.default_rng(seed)
    discharges = rng.integers(1, 4, size=n_patients)
    subject_id = np.repeat(np.arange(n_patients), discharges)
    n = len(subject_id)
    frame = pd.DataFrame({"subject_id": subject_id, "index_hadm_id": np.arange(n)})
    for component in COMPONENTS:
        frame[f"{component}_score"] = rng.uniform(0, 1, size=n).round(4)
    signal = frame["disease_specific_score"].to_numpy()
    frame["risk_score"] = frame[[f"{c}_score" for c in COMPONENTS]].to_numpy() @ np.array(
        [EXPERT_WEIGHTS[c] for c in COMPONENTS])
    frame["charlson_index"] = rng.integers(0, 8, size=n)
    frame["lace_index"] = rng.integers(0, 20, size=n)
    for index in ("elixhauser_van_walraven", "ahrq_readmission_index", "ahrq_mortality_index"):
        frame[index] = rng.integers(-10, 40, size=n)
    readmitted = pd.Series(rng.uniform(size=n) < 0.1 + 0.5 * signal, dtype="boolean")
    # A tenth of the discharges are censored (the 30 days run past the data).
    readmitted[rng.uniform(size=n) < 0.1] = pd.NA
    frame["readmitted_30d"] = readmitted
    frame["died_within_1y"] = rng.uniform(size=n) < 0.05 + 0.3 * signal
    return frame


def test_weighted_auroc_counts_ties_one_half() -> None:
    # Positive-negative pairs: 0.9>0.5, 0.9>0.1, 0.5=0.5 (one half), 0.5>0.1 -> 3.5 / 4.
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    positive = np.array([True, True, False, False])
    assert weighted_auroc(*outcome_codes(scores, positive), np.ones(4)) == pytest.approx(0.875)
    assert weighted_auroc(*outcome_codes(scores, np.zeros(4, dtype=bool)), np.ones(4)) is None


def test_weighted_auroc_equals_sklearn_and_weights_act_as_repeats() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 20, size=500).astype(float)
    positive = rng.uniform(size=500) < 0.3
    coded = outcome_codes(scores, positive)
    assert weighted_auroc(*coded, np.ones(500)) == pytest.approx(roc_auc_score(positive, scores))
    weights = rng.integers(0, 3, size=500)
    repeated = np.repeat(np.arange(500), weights)
    assert weighted_auroc(*coded, weights.astype(float)) == pytest.approx(
        roc_auc_score(positive[repeated], scores[repeated]))


def test_validation_table_intervals_and_censoring() -> None:
    observations = simulated_observations()
    table = validation_table(observations, ValidationConfig(bootstrap_resamples=50)).set_index(
        ["outcome", "scorer"])
    assert set(table.index.get_level_values("scorer")) == {
        "risk_score", "charlson_index", "lace_index", "elixhauser_van_walraven", "ahrq_readmission_index",
        "ahrq_mortality_index", "fitted_weights"}
    observed = observations["readmitted_30d"].notna()
    assert (table.loc["readmitted_30d", "n_index_discharges"] == observed.sum()).all()
    assert (table.loc["died_within_1y", "n_index_discharges"] == len(observations)).all()
    assert (table.auroc_ci_low <= table.auroc).all() and (table.auroc <= table.auroc_ci_high).all()
    # Noise baselines sit near chance; the fitted weights find the one informative component.
    for outcome in ("readmitted_30d", "died_within_1y"):
        assert table.loc[(outcome, "lace_index"), "auroc_ci_low"] < 0.5 < table.loc[
            (outcome, "lace_index"), "auroc_ci_high"]
        assert table.loc[(outcome, "fitted_weights"), "auroc"] > table.loc[(outcome, "risk_score"), "auroc"]
        assert table.loc[(outcome, "fitted_weights"), "auroc_ci_low"] > 0.55


def test_same_seed_same_intervals() -> None:
    observations = simulated_observations(200)
    config = ValidationConfig(bootstrap_resamples=30, random_seed=9)
    first, second = validation_table(observations, config), validation_table(observations, config)
    pd.testing.assert_frame_equal(first, second)


def test_weight_table_puts_weight_on_the_informative_component() -> None:
    weights = weight_table(simulated_observations(), EXPERT_WEIGHTS, ValidationConfig()).set_index(
        ["outcome", "component"])
    for outcome in ("readmitted_30d", "died_within_1y"):
        fitted = weights.loc[outcome, "fitted_weight"]
        assert fitted.sum() == pytest.approx(1.0)
        assert fitted.idxmax() == "disease_specific"
    assert weights.expert_weight.loc["died_within_1y"].to_dict() == EXPERT_WEIGHTS


def test_an_outcome_without_events_has_no_auroc() -> None:
    observations = simulated_observations(100).assign(died_within_1y=False)
    table = validation_table(observations, ValidationConfig(bootstrap_resamples=20)).set_index(
        ["outcome", "scorer"])
    assert table.loc["died_within_1y", "auroc"].isna().all()
    assert (table.loc["died_within_1y", "n_positive"] == 0).all()


def test_bad_input_names_the_column_or_setting() -> None:
    with pytest.raises(ValidationError, match="lace_index"):
        validation_table(simulated_observations(50).drop(columns="lace_index"), ValidationConfig())
    with pytest.raises(ValidationError, match="risk_validation_bootstrap_resamples"):
        ValidationConfig.from_mapping({"bootstrap_resamples": 5})
    with pytest.raises(ValidationError, match="risk_validation_fit_sample_size"):
        ValidationConfig.from_mapping({"fit_sample_size": 10})
    with pytest.raises(ValidationError, match="risk_validation_typo"):
        ValidationConfig.from_mapping({"typo": 1})


def roc_area(points: pd.DataFrame) -> tuple[float, float]:
    """Area under the curve by trapezoids, and how far the exact AUROC can lie from it: within each step the
    exact curve stays in the step's rectangle, so at most half of it."""
    points = points.sort_values("point_index")
    fpr, tpr = points["false_positive_rate"].to_numpy(), points["true_positive_rate"].to_numpy()
    return float(np.trapezoid(tpr, fpr)), float(0.5 * (np.diff(fpr) * np.diff(tpr)).sum())


def step_groups(observations: pd.DataFrame, outcome: str, scorer: str,
                points: pd.DataFrame) -> list[pd.DataFrame]:
    """The discharges of each step of a curve: scores at or above a point's threshold and below the previous
    point's."""
    cohort = observations[observations[outcome].notna()]
    thresholds = [np.inf, *points.sort_values("point_index")["score_threshold"].iloc[1:]]
    scores = cohort[scorer].to_numpy(dtype=float)
    bounds = zip(thresholds, thresholds[1:], strict=False)
    return [cohort[(scores >= low) & (scores < high)] for high, low in bounds]


def test_roc_curves_agree_with_the_auroc_and_every_step_holds_enough_patients() -> None:
    observations = simulated_observations(1500)
    config = ValidationConfig(bootstrap_resamples=20)
    aurocs = validation_table(observations, config).set_index(["outcome", "scorer"])["auroc"]
    roc = roc_table(observations, config, min_cell_size=11)
    assert set(roc.groupby(["outcome", "scorer"]).groups) == set(aurocs.index)
    for (outcome, scorer), points in roc.groupby(["outcome", "scorer"]):
        area, bound = roc_area(points)
        assert abs(area - aurocs[(outcome, scorer)]) <= bound + 1e-12
        assert abs(area - aurocs[(outcome, scorer)]) < 0.01
        ordered = points.sort_values("point_index")
        assert ordered.iloc[0][["false_positive_rate", "true_positive_rate"]].tolist() == [0.0, 0.0]
        assert ordered.iloc[-1][["false_positive_rate", "true_positive_rate"]].tolist() == [1.0, 1.0]
        assert ordered["false_positive_rate"].is_monotonic_increasing
        assert ordered["true_positive_rate"].is_monotonic_increasing
        if scorer == FITTED_SCORER:
            continue  # its scores are out-of-fold predictions, not a column of the observations
        steps = step_groups(observations, outcome, scorer, points)
        assert sum(len(step) for step in steps) == observations[outcome].notna().sum()
        for step in steps:
            flags = step[outcome].astype(bool)
            assert step.loc[flags, "subject_id"].nunique() >= 11
            assert step.loc[~flags, "subject_id"].nunique() >= 11


def test_roc_steps_count_patients_not_discharges() -> None:
    """Eleven positive discharges of one patient make no step: a step needs eleven patients."""
    scores = np.array([0.9] * 11 + [0.8] * 11 + list(np.linspace(0.7, 0.1, 60)))
    positive = np.array([True] * 11 + [False] * 11 + [True, False] * 30)
    patients = np.array([0] * 11 + list(range(1, 12)) + list(range(12, 72)))
    ends = roc_step_ends(scores, positive, patients, min_cell_size=11)
    assert ends[0] == 0 and ends[-1] == len(scores)
    for start, end in zip(ends, ends[1:], strict=False):
        assert len(np.unique(patients[start:end][positive[start:end]])) >= 11
        assert len(np.unique(patients[start:end][~positive[start:end]])) >= 11
    # The first step had to run past the one patient's eleven discharges to find ten more patients.
    assert ends[1] > 22


def test_a_cohort_too_small_for_two_steps_has_no_curve() -> None:
    observations = simulated_observations(30)
    roc = roc_table(observations, ValidationConfig(bootstrap_resamples=20), min_cell_size=11)
    assert roc.empty and list(roc.columns) == list(ROC_COLUMNS)
    with pytest.raises(ValidationError, match="min_cell_size"):
        roc_table(observations, ValidationConfig(), min_cell_size=0)
