"""segmentation.risk_validation on hand-made and simulated observations (no warehouse needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from segmentation.risk_validation import (
    COMPONENTS,
    ValidationConfig,
    ValidationError,
    outcome_codes,
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
