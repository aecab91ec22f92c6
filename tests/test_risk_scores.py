"""Risk scores and their validation, on the synthetic population and on the hand-made MIMIC-IV fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import ParsedProject, run_dbt_in_process

from segmentation.risk_validation import BASELINES, OUTCOMES

pytestmark = pytest.mark.dbt

RISK_MODELS = [
    "int_risk_component_weights", "int_risk_components", "int_patient_risk_components", "patient_risk_scores",
]
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
        "from marts.patient_risk_scores where vital_status = 'living' group by all",
    ).set_index("risk_tier")
    assert set(tiers.index) == {"low", "medium", "high", "complex"}
    assert tiers.care_intensity.to_dict() == {
        "low": "preventive", "medium": "standard", "high": "disease management", "complex": "complex care",
    }
    # Default cut-offs of dbt_project.yml: 0.25, 0.45, 0.65.
    assert tiers.highest["low"] < 0.25 <= tiers.lowest["medium"]
    assert tiers.highest["medium"] < 0.45 <= tiers.lowest["high"]
    assert tiers.highest["high"] < 0.65 <= tiers.lowest["complex"]


def test_prospective_validation_on_synthetic_data(synthetic_warehouse: Path) -> None:
    validation = query(synthetic_warehouse, "select * from marts.risk_validation").set_index(
        ["outcome", "scorer"])
    observations = query(synthetic_warehouse, """
        select count(*) as n, count(readmitted_30d) as n_observed,
            count(*) filter (where readmitted_30d) as n_readmitted,
            count(*) filter (where died_within_1y) as n_died
        from intermediate.int_risk_validation_observations
    """).iloc[0]
    assert len(validation) == len(OUTCOMES) * (len(BASELINES) + 1)
    assert (validation.loc["readmitted_30d", "n_index_discharges"] == observations.n_observed).all()
    assert (validation.loc["died_within_1y", "n_index_discharges"] == observations.n).all()
    assert (validation.loc["readmitted_30d", "n_positive"] == observations.n_readmitted).all()
    assert (validation.loc["died_within_1y", "n_positive"] == observations.n_died).all()
    assert (validation.auroc_ci_low < validation.auroc).all()
    assert (validation.auroc < validation.auroc_ci_high).all()
    # The score ranks each outcome at least about as well as its baseline (within the baseline's interval).
    readmission, death = validation.loc["readmitted_30d"], validation.loc["died_within_1y"]
    assert readmission.auroc["risk_score"] >= readmission.auroc_ci_low["lace_index"], readmission
    assert death.auroc["risk_score"] >= death.auroc_ci_low["charlson_index"], death
    assert (validation.auroc > 0.6).all(), validation


def test_calibration_rises_from_low_to_complex(synthetic_warehouse: Path) -> None:
    calibration = query(synthetic_warehouse,
                        "select * from marts.risk_calibration order by outcome, tier_rank")
    for outcome, tiers in calibration.groupby("outcome"):
        assert (tiers.n_index_discharges > 0).all(), outcome
        assert tiers.observed_rate.is_monotonic_increasing, tiers


def test_deceased_patients_get_no_care_recommendations(synthetic_warehouse: Path,
                                                      mimic_fixture_warehouse: Path) -> None:
    for warehouse in (synthetic_warehouse, mimic_fixture_warehouse):
        scores = query(warehouse, """
            select scores.vital_status, features.is_deceased, scores.care_intensity,
                scores.recommended_interventions
            from marts.patient_risk_scores as scores
            inner join marts.patient_features as features using (subject_id)
        """)
        deceased = scores[scores.vital_status == "deceased"]
        assert (deceased.is_deceased).all() and len(deceased) == scores.is_deceased.sum() > 0
        assert deceased.care_intensity.isna().all() and deceased.recommended_interventions.isna().all()
        living = scores[scores.vital_status == "living"]
        assert living.recommended_interventions.notna().all()
    fixture_deceased = query(mimic_fixture_warehouse, "select subject_id - 10100000 as patient "
                             "from marts.patient_risk_scores where vital_status = 'deceased' order by 1")
    assert fixture_deceased.patient.tolist() == [4, 5, 6, 26, 27]


def test_weight_override_changes_scores(warehouse_copy: Path, parsed_project: ParsedProject) -> None:
    before = query(warehouse_copy, "select subject_id, risk_score from marts.patient_risk_scores")
    age_only = {component: 1.0 if component == "age" else 0.0 for component in COMPONENTS}
    run_dbt_in_process(parsed_project, ["build", "--select", *RISK_MODELS, "--vars", weights_var(age_only)],
                       warehouse_copy)
    after = query(warehouse_copy, "select subject_id, risk_score, age_score from marts.patient_risk_scores")
    assert (after.risk_score == after.age_score).all()
    changed = before.merge(after, on="subject_id", suffixes=("_before", "_after"))
    assert (changed.risk_score_before != changed.risk_score_after).mean() > 0.5


def test_weights_not_summing_to_one_stop_the_risk_models(warehouse_copy: Path,
                                                         parsed_project: ParsedProject) -> None:
    before = query(warehouse_copy, "select subject_id, risk_score from marts.patient_risk_scores order by 1")
    too_heavy = {component: 0.3 for component in COMPONENTS}
    result = run_dbt_in_process(parsed_project, ["build", "--select", *RISK_MODELS, "--vars",
                                                 weights_var(too_heavy)], warehouse_copy, check=False)
    assert not result.success
    assert "sums_to_int_risk_component_weights_weight" in result.output
    # The scores read their weights from the failing model, so dbt skips them: the published scores stand.
    assert "SKIP relation marts.patient_risk_scores" in result.output
    after = query(warehouse_copy, "select subject_id, risk_score from marts.patient_risk_scores order by 1")
    pd.testing.assert_frame_equal(before, after)


def test_inputs_as_of_each_discharge_on_fixture(mimic_fixture_warehouse: Path) -> None:
    """Patient 24 (10100024): five admissions with gaps 13.8, 18.2, 62.9 and 14.3 days."""
    inputs = query(
        mimic_fixture_warehouse,
        "select hadm_id, n_admissions, n_readmissions_30d from intermediate.int_admission_risk_inputs "
        "where subject_id = 10100024 order by hadm_id",
    )
    assert inputs.n_admissions.tolist() == [1, 2, 3, 4, 5]
    # Each readmission counts from the admission it starts, never before.
    assert inputs.n_readmissions_30d.tolist() == [0, 1, 2, 2, 3]
    current = query(mimic_fixture_warehouse, "select n_admissions, n_readmissions_30d "
                    "from intermediate.int_patient_risk_inputs where subject_id = 10100024").iloc[0]
    assert current.to_dict() == {"n_admissions": 5, "n_readmissions_30d": 3}


def test_validation_index_discharges_on_fixture(mimic_fixture_warehouse: Path) -> None:
    observations = query(
        mimic_fixture_warehouse,
        "select subject_id - 10100000 as patient, index_hadm_id, readmitted_30d, died_within_1y, lace_index "
        "from intermediate.int_risk_validation_observations",
    )
    # Every episode ended alive is an index: 45 of them; 04's and 27's deaths in hospital are none, and
    # patient 07's three transferred admissions and 28's observation stay plus admission are one each.
    assert len(observations) == 45
    assert 20100042 not in set(observations.index_hadm_id) and 27 not in set(observations.patient)
    assert set(observations.index_hadm_id[observations.patient == 28]) == {20100282, 20100283}
    # No 30-day window runs past the fixture's data end, so none is censored.
    assert observations.readmitted_30d.notna().all()
    readmitted = observations[observations.readmitted_30d.astype(bool)]
    assert sorted(readmitted.index_hadm_id) == [
        20100011, 20100041, 20100171, 20100211, 20100221, 20100241, 20100242, 20100244, 20100282]
    # Death within a year of the discharge: 04 after its first stay, 05 after both; 06 died 407 days later.
    assert sorted(observations.index_hadm_id[observations.died_within_1y]) == [20100041, 20100051, 20100052]
    # LACE of patient 24's fourth stay: 5 days (4), acute (3), Charlson 1 (1), 3 ED visits in 6 months (3).
    assert observations.set_index("index_hadm_id").lace_index[20100244] == 11
    validation = query(mimic_fixture_warehouse, "select outcome, scorer, n_index_discharges, n_positive "
                       "from marts.risk_validation").set_index(["outcome", "scorer"])
    assert len(validation) == len(OUTCOMES) * (len(BASELINES) + 1)
    assert (validation.loc["readmitted_30d", "n_positive"] == 9).all()
    assert (validation.loc["died_within_1y", "n_positive"] == 3).all()


def test_patient_without_admission_on_fixture(mimic_fixture_warehouse: Path) -> None:
    """Patient 03 (10100003), 45 years old, has no admission: only age can score."""
    scores = query(
        mimic_fixture_warehouse, "select * from marts.patient_risk_scores where subject_id = 10100003"
    ).iloc[0]
    assert scores.clinical_complexity_score == scores.functional_decline_score == 0
    assert scores.disease_specific_score == scores.social_determinants_score == 0
    assert 0 < scores.age_score < 1
    assert scores.risk_tier == "low"
