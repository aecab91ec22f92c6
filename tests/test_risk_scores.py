"""Risk scores and their validation, on the synthetic population and on the hand-made MIMIC-IV fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import run_dbt

pytestmark = pytest.mark.dbt

RISK_MODELS = ["int_risk_component_weights", "int_patient_risk_components", "patient_risk_scores"]
COMPONENTS = ["clinical_complexity", "age", "functional_decline", "disease_specific", "social_determinants"]


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.sql(sql).df()


def weights_var(weights: dict[str, float]) -> str:
    """A --vars value overriding the component weights."""
    body = ", ".join(f"{component}: {weight}" for component, weight in weights.items())
    return f"{{risk_component_weights: {{{body}}}}}"


@pytest.fixture()
def warehouse_copy(synthetic_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the built synthetic warehouse that a test may rebuild models in."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(synthetic_warehouse, copy)
    return copy


def test_every_patient_scored_once(synthetic_warehouse: Path) -> None:
    counts = query(
        synthetic_warehouse,
        "select (select count(*) from mimiciv_hosp.patients) as n_patients, count(*) as n_rows, "
        "count(distinct subject_id) as n_subjects from marts.patient_risk_scores",
    ).iloc[0]
    assert counts.n_rows == counts.n_patients == counts.n_subjects


def test_higher_risk_archetypes_score_higher(synthetic_warehouse: Path) -> None:
    by_archetype = query(
        synthetic_warehouse,
        "select truth.archetype, avg(scores.risk_score) as mean_score, avg(truth.latent_risk) as mean_latent "
        "from marts.patient_risk_scores as scores "
        "inner join synthetic_truth.patient_archetypes as truth using (subject_id) group by truth.archetype",
    ).set_index("archetype")
    assert len(by_archetype) >= 3
    # Archetypes ordered by the generator's latent risk should be ordered the same way by the score.
    rank_agreement = by_archetype.mean_score.corr(by_archetype.mean_latent, method="spearman")
    assert rank_agreement > 0.7, by_archetype.sort_values("mean_latent")
    riskiest = by_archetype.mean_latent.idxmax()
    healthiest = by_archetype.mean_latent.idxmin()
    assert by_archetype.mean_score[riskiest] > by_archetype.mean_score[healthiest] + 0.2, by_archetype


def test_tiers_follow_cutoffs_and_every_tier_is_used(synthetic_warehouse: Path) -> None:
    tiers = query(
        synthetic_warehouse,
        "select risk_tier, care_intensity, min(risk_score) as lowest, max(risk_score) as highest "
        "from marts.patient_risk_scores group by all",
    ).set_index("risk_tier")
    assert set(tiers.index) == {"low", "medium", "high", "complex"}
    assert tiers.care_intensity.to_dict() == {
        "low": "preventive", "medium": "standard", "high": "disease management", "complex": "complex care",
    }
    # Default cut-offs of dbt_project.yml: 0.25, 0.45, 0.65.
    assert tiers.highest["low"] < 0.25 <= tiers.lowest["medium"]
    assert tiers.highest["medium"] < 0.45 <= tiers.lowest["high"]
    assert tiers.highest["high"] < 0.65 <= tiers.lowest["complex"]


def test_validation_rows_on_synthetic_data(synthetic_warehouse: Path) -> None:
    validation = query(synthetic_warehouse, "select * from marts.risk_validation").set_index("outcome")
    cohorts = query(
        synthetic_warehouse,
        "select count(*) as n_patients, count(*) filter (where n_admissions >= 1) as n_admitted, "
        "count(*) filter (where n_admissions >= 2) as n_readmittable from marts.patient_features",
    ).iloc[0]
    assert set(validation.index) == {"readmission_30d", "death_1y", "latent_risk_top_quartile"}
    assert validation.n["readmission_30d"] == cohorts.n_readmittable
    assert validation.n["death_1y"] == cohorts.n_admitted
    assert validation.n["latent_risk_top_quartile"] == cohorts.n_patients
    assert (validation.n_positive > 0).all() and (validation.n_negative > 0).all()
    # A quarter of the patients by construction (ties at the quartile aside).
    top_quartile = validation.n_positive["latent_risk_top_quartile"]
    assert top_quartile == pytest.approx(cohorts.n_patients / 4, rel=0.05)
    # The score ranks outcomes better than chance, and the latent risk better than the Charlson index alone.
    assert (validation.risk_score_auroc > 0.55).all(), validation
    latent = validation.loc["latent_risk_top_quartile"]
    assert latent.risk_score_auroc > latent.charlson_index_auroc
    assert latent.risk_score_latent_spearman > 0.5


def test_weight_override_changes_scores(warehouse_copy: Path, tmp_path: Path) -> None:
    before = query(warehouse_copy, "select subject_id, risk_score from marts.patient_risk_scores")
    age_only = {component: 1.0 if component == "age" else 0.0 for component in COMPONENTS}
    run_dbt(["build", "--select", *RISK_MODELS, "--exclude", "test_type:unit",
             "--vars", weights_var(age_only)], warehouse_copy, tmp_path / "dbt")
    after = query(warehouse_copy, "select subject_id, risk_score, age_score from marts.patient_risk_scores")
    assert (after.risk_score == after.age_score).all()
    changed = before.merge(after, on="subject_id", suffixes=("_before", "_after"))
    assert (changed.risk_score_before != changed.risk_score_after).mean() > 0.5


def test_weights_not_summing_to_one_fail_the_build(warehouse_copy: Path, tmp_path: Path) -> None:
    too_heavy = {component: 0.3 for component in COMPONENTS}
    result = run_dbt(["build", "--select", "int_risk_component_weights", "--vars", weights_var(too_heavy)],
                     warehouse_copy, tmp_path / "dbt", check=False)
    assert result.returncode != 0
    assert "sums_to_int_risk_component_weights_weight" in result.stdout


def test_history_before_last_admission_on_fixture(mimic_fixture_warehouse: Path) -> None:
    """Patient 24 (10100024): five admissions with gaps 13.8, 18.2, 62.9 and 14.3 days."""
    inputs = query(
        mimic_fixture_warehouse,
        "select 'all' as history, n_admissions, n_readmissions_30d from intermediate.int_patient_risk_inputs "
        "where subject_id = 10100024 union all "
        "select 'before', n_admissions, n_readmissions_30d "
        "from intermediate.int_patient_risk_inputs_before_last_admission where subject_id = 10100024",
    ).set_index("history")
    assert inputs.loc["all"].to_dict() == {"n_admissions": 5, "n_readmissions_30d": 3}
    # The last admission's own readmission (14.3 days) is the outcome, so the history must not count it.
    assert inputs.loc["before"].to_dict() == {"n_admissions": 4, "n_readmissions_30d": 2}


def test_validation_outcomes_on_fixture(mimic_fixture_warehouse: Path) -> None:
    observations = query(
        mimic_fixture_warehouse,
        "select outcome, subject_id, is_positive from intermediate.int_risk_validation_observations",
    )
    by_outcome = observations.groupby("outcome")
    positives = {outcome: set(group.subject_id[group.is_positive]) for outcome, group in by_outcome}
    # 24 of the 26 patients have an admission, 14 of them two or more; real-format data has no latent risk.
    assert by_outcome.size().to_dict() == {"death_1y": 24, "readmission_30d": 14}
    # Last admission within 30 days of the previous discharge: 04 (19.2 days), 17 (9.4), 21 (28.2), 24 (14.3);
    # not 07, whose last admission comes 51.9 days after its three-admission episode.
    assert positives["readmission_30d"] == {10100004, 10100017, 10100021, 10100024}
    # Death within 365 days of the last admittime: 04 in hospital, 05 after 172 days; not 06 (412 days).
    assert positives["death_1y"] == {10100004, 10100005}
    outcomes = query(mimic_fixture_warehouse, "select outcome from marts.risk_validation").outcome
    assert sorted(outcomes) == ["death_1y", "readmission_30d"]


def test_patient_without_admission_on_fixture(mimic_fixture_warehouse: Path) -> None:
    """Patient 03 (10100003), 45 years old, has no admission: only age can score."""
    scores = query(
        mimic_fixture_warehouse, "select * from marts.patient_risk_scores where subject_id = 10100003"
    ).iloc[0]
    assert scores.clinical_complexity_score == scores.functional_decline_score == 0
    assert scores.disease_specific_score == scores.social_determinants_score == 0
    assert 0 < scores.age_score < 1
    assert scores.risk_tier == "low"
