"""The SQL feature layer (staging, intermediate, patient_features): exact values on the hand-made MIMIC-IV
fixture (expected values from tests/fixtures/mimic/README.md) and invariants on the synthetic population,
checked against independent pandas computations from the raw tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.dbt

FIXTURE_SUBJECT_BASE = 10100000


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.sql(sql).df()


def fixture_features(warehouse: Path) -> pd.DataFrame:
    """patient_features indexed by the fixture's patient number (subject_id 101000NN -> NN)."""
    features = query(warehouse, "select * from marts.patient_features")
    patient = (features.subject_id - FIXTURE_SUBJECT_BASE).astype("int64").rename("patient")
    return features.set_index(patient).sort_index()


# Patient-level expectations of the fixture README: n_admissions, n_ed_admissions, avg_ed_hours,
# total_los_days, n_unique_icd_codes, charlson_max, charlson_latest, readmissions 30/60/90, n_icu_stays,
# total_icu_days, died_in_hospital, died_within_1y, age_at_last_admission.
FIXTURE_EXPECTED = pd.DataFrame.from_records(
    [
        (1, 3, 2, 4.3167, 16.0486, 13, 7, 7, 1, 1, 1, 0, 0.0, False, False, 69),
        (2, 2, 2, 4.6500, 8.3042, 7, 5, 5, 0, 0, 0, 0, 0.0, False, False, 92),
        (3, 0, 0, 0.0, 0.0, 0, None, None, 0, 0, 0, 0, 0.0, False, False, 45),
        (4, 2, 2, 4.2250, 13.5208, 8, 5, 5, 1, 1, 1, 1, 5.1194, True, True, 78),
        (5, 2, 1, 5.2500, 20.2882, 8, 11, 11, 0, 0, 0, 0, 0.0, False, True, 83),
        (6, 1, 1, 3.8333, 4.7743, 4, 2, 2, 0, 0, 0, 0, 0.0, False, False, 67),
        (7, 4, 2, 2.8583, 19.8958, 6, 2, 1, 0, 1, 1, 0, 0.0, False, False, 55),
        (8, 1, 1, 4.0833, 9.6806, 6, 4, 4, 0, 0, 0, 2, 4.4458, False, False, 71),
        (9, 2, 2, 3.2500, 10.7708, 6, 4, 2, 0, 0, 0, 0, 0.0, False, False, 58),
        (10, 1, 1, 4.5000, 7.6424, 4, 3, 3, 0, 0, 0, 0, 0.0, False, False, 49),
        (11, 2, 1, 4.7500, 8.9792, 7, 4, 3, 0, 1, 1, 0, 0.0, False, False, 66),
        (12, 1, 1, 3.6667, 5.1597, 5, 5, 5, 0, 0, 0, 0, 0.0, False, False, 52),
        (13, 2, 1, 4.2500, 8.7778, 6, 10, 9, 0, 0, 1, 0, 0.0, False, False, 74),
        (14, 1, 1, 4.2500, 6.9028, 4, 7, 7, 0, 0, 0, 0, 0.0, False, False, 59),
        (15, 2, 2, 4.5417, 11.9653, 9, 3, 3, 0, 0, 0, 0, 0.0, False, False, 66),
        (16, 2, 2, 4.4583, 14.9583, 7, 6, 6, 0, 0, 0, 0, 0.0, False, False, 89),
        (17, 2, 2, 6.1583, 5.8958, 4, 0, 0, 1, 1, 1, 0, 0.0, False, False, 34),
        (18, 1, 0, 0.0, 2.2083, 4, 4, 4, 0, 0, 0, 0, 0.0, False, False, 69),
        (19, 1, 1, 5.6667, 11.9167, 6, 6, 6, 0, 0, 0, 1, 2.5208, False, False, 63),
        (20, 1, 1, 5.2500, 7.3611, 4, 7, 7, 0, 0, 0, 0, 0.0, False, False, 41),
        (21, 2, 2, 4.7083, 13.7708, 8, 9, 5, 1, 1, 1, 1, 1.7917, False, False, 76),
        (22, 4, 4, 4.2500, 13.1146, 4, 1, 1, 1, 1, 2, 0, 0.0, False, False, 47),
        (23, 1, 1, 4.0000, 0.7674, 2, 0, 0, 0, 0, 0, 0, 0.0, False, False, 25),
        (24, 5, 4, 4.4792, 35.5521, 6, 5, 5, 3, 3, 4, 1, 3.6875, False, False, 81),
        (25, 1, 1, 4.6667, 7.1181, 4, 4, 4, 0, 0, 0, 0, 0.0, False, False, 85),
        (26, 0, 0, 0.0, 0.0, 0, None, None, 0, 0, 0, 0, 0.0, False, False, 72),
        (27, 1, 1, 4.5000, 8.4167, 4, 6, 6, 0, 0, 0, 1, 8.6875, True, True, 80),
        (28, 3, 2, 3.5833, 9.2778, 6, 2, 2, 1, 1, 1, 0, 0.0, False, False, 58),
    ],
    columns=[
        "patient", "n_admissions", "n_ed_admissions", "avg_ed_hours", "total_los_days", "n_unique_icd_codes",
        "charlson_max", "charlson_latest", "n_readmissions_30d", "n_readmissions_60d", "n_readmissions_90d",
        "n_icu_stays", "total_icu_days", "died_in_hospital", "died_within_1y", "age_at_last_admission",
    ],
).set_index("patient")


def test_fixture_patient_features_match_the_hand_computed_table(mimic_fixture_warehouse: Path) -> None:
    features = fixture_features(mimic_fixture_warehouse)
    assert list(features.index) == list(FIXTURE_EXPECTED.index)
    for column in FIXTURE_EXPECTED.columns:
        expected = FIXTURE_EXPECTED[column]
        actual = features[column]
        if expected.dtype == float and column not in {"charlson_max", "charlson_latest"}:
            # The README rounds to 4 decimals.
            np.testing.assert_allclose(actual.astype(float), expected, atol=5e-5, err_msg=column)
        else:
            pd.testing.assert_series_equal(
                actual.astype("Float64"), expected.astype("Float64"), check_names=False, obj=column
            )


def test_charlson_per_admission_with_hierarchy_conflicts(mimic_fixture_warehouse: Path) -> None:
    charlson = query(
        mimic_fixture_warehouse,
        "select * from intermediate.int_admission_charlson where hadm_id in "
        "(20100091, 20100101, 20100111, 20100121, 20100131, 20100141, 20100051)",
    ).set_index("hadm_id")
    # Both members of a hierarchy pair are flagged, yet only the heavier one is scored.
    expected = {
        # ICD-9 mild (5712) + severe (4560, 5723) liver disease: 3 + age 58 -> 1.
        20100091: ({"mild_liver_disease": 1, "severe_liver_disease": 1}, 1, 4),
        # ICD-10 mild (K7031) + severe (K766) liver disease: 3 + age 49 -> 0.
        20100101: ({"mild_liver_disease": 1, "severe_liver_disease": 1}, 0, 3),
        # ICD-9 diabetes without (25000) + with (25060) complications: 2 + age 66 -> 2.
        20100111: ({"diabetes_without_cc": 1, "diabetes_with_cc": 1}, 2, 4),
        # ICD-10 diabetes without (E1165) + with (E1122) complications, renal (N184): 2 + 2 + age 52 -> 1.
        20100121: ({"diabetes_without_cc": 1, "diabetes_with_cc": 1, "renal_disease": 1}, 1, 5),
        # ICD-10 lung cancer + metastases, COPD: 6 + 1 + age 74 -> 3.
        20100131: ({"malignant_cancer": 1, "metastatic_solid_tumor": 1, "chronic_pulmonary_disease": 1},
                   3, 10),
        # ICD-9 breast cancer + metastasis: 6 + age 59 -> 1.
        20100141: ({"malignant_cancer": 1, "metastatic_solid_tumor": 1}, 1, 7),
        # ICD-9 lung cancer with liver and brain metastases, COPD: 6 + 1 + age 83 -> 4.
        20100051: ({"malignant_cancer": 1, "metastatic_solid_tumor": 1, "chronic_pulmonary_disease": 1},
                   4, 11),
    }
    flag_columns = query(mimic_fixture_warehouse, "select condition from reference.charlson_conditions")
    for hadm_id, (flags, age_score, index) in expected.items():
        row = charlson.loc[hadm_id]
        assert {c: int(row[c]) for c in flag_columns.condition if row[c]} == flags, hadm_id
        assert (row.age_score, row.charlson_comorbidity_index) == (age_score, index), hadm_id


def test_overlapping_and_same_day_admissions_form_one_episode(mimic_fixture_warehouse: Path) -> None:
    readmissions = query(
        mimic_fixture_warehouse,
        "select hadm_id, episode_seq, is_episode_start, readmitted_30d, readmitted_60d, readmitted_90d "
        "from intermediate.int_admission_readmissions where subject_id = 10100007 order by admittime",
    )
    # Admission 2 starts 30 minutes before 1 ends, 3 starts the day 2 ends; 4 follows 51.9 days later.
    assert readmissions.episode_seq.tolist() == [1, 1, 1, 2]
    assert readmissions.is_episode_start.tolist() == [True, False, False, True]
    first_episode = readmissions.iloc[0]
    assert (first_episode.readmitted_30d, first_episode.readmitted_60d, first_episode.readmitted_90d) == (
        False, True, True,
    )


def test_episode_ending_in_death_is_no_index(mimic_fixture_warehouse: Path) -> None:
    readmissions = query(
        mimic_fixture_warehouse,
        "select hadm_id, is_index_episode, readmitted_30d from intermediate.int_admission_readmissions "
        "where subject_id = 10100004 order by admittime",
    )
    # The first admission is followed 19 days later by the fatal one, which cannot be an index itself.
    assert readmissions.is_index_episode.tolist() == [True, False]
    assert readmissions.readmitted_30d.iloc[0]
    assert pd.isna(readmissions.readmitted_30d.iloc[1])
    features = fixture_features(mimic_fixture_warehouse).loc[4]
    assert features.died_in_hospital and features.died_within_1y
    assert features.days_since_last_admission == 0


def test_age_concept_across_anchor_years(mimic_fixture_warehouse: Path) -> None:
    ages = query(
        mimic_fixture_warehouse,
        "select hadm_id, age_at_admission from intermediate.int_admissions_enriched "
        "where hadm_id in (20100021, 20100022, 20100161, 20100162, 20100191)",
    ).set_index("hadm_id").age_at_admission.to_dict()
    # anchor_age 91 in 2175 -> 92 in 2176; 88 in 2111 -> 86 in 2109 and 89 in 2112; a stay over New Year
    # takes its age from admittime (2158, anchor 63 in 2158).
    assert ages == {20100021: 91, 20100022: 92, 20100161: 86, 20100162: 89, 20100191: 63}
    buckets = fixture_features(mimic_fixture_warehouse).age_bucket
    assert (buckets[2], buckets[16], buckets[17], buckets[10]) == ("85+", "85+", "18-44", "45-64")


def test_patients_without_admissions_are_kept_with_empty_utilization(mimic_fixture_warehouse: Path) -> None:
    features = fixture_features(mimic_fixture_warehouse).loc[[3, 26]]
    assert (features.n_admissions == 0).all()
    assert features.days_since_last_admission.isna().all()
    assert features.charlson_max.isna().all()
    assert features.insurance.isna().all()
    assert not features.has_chronic_condition.any()
    # Patient 26 has a dod but no discharge to count a year from.
    assert not features.died_within_1y.any()
    assert features.age_at_last_admission.tolist() == [45, 72]


def test_follow_up_ends_at_death_or_at_the_mapped_data_end(mimic_fixture_warehouse: Path) -> None:
    days = fixture_features(mimic_fixture_warehouse).days_since_last_admission
    # The fixture holds '2020 - 2022' patients, so its data end is 2022. No dod: December 31 of anchor_year +
    # (2022 - middle year of the group); patient 01: 2130 + (2022 - 2009).
    assert days[1] == (date(2143, 12, 31) - date(2138, 6, 25)).days
    # Out-of-hospital deaths 159 and 407 days after the last discharge.
    assert (days[5], days[6]) == (159, 407)


def test_icu_stays_are_attributed_by_admission(mimic_fixture_warehouse: Path) -> None:
    icu = query(
        mimic_fixture_warehouse,
        "select hadm_id, n_icu_stays, icu_days from intermediate.int_admission_icu "
        "where subject_id = 10100008",
    ).iloc[0]
    # Both stays cross the admission's edges by minutes and still belong to it.
    assert icu.n_icu_stays == 2
    assert icu.icu_days == pytest.approx(2.8180555555555555 + 1.6277777777777778)


def test_chronic_condition_definitions_on_the_fixture(mimic_fixture_warehouse: Path) -> None:
    conditions = query(
        mimic_fixture_warehouse,
        "select subject_id - 10100000 as patient, list(condition order by condition) as conditions "
        "from marts.patient_conditions group by 1",
    ).set_index("patient").conditions.map(list)
    # Tobacco use (3051, F17210) is not a substance use disorder; alcohol dependence (30390, F1020) is.
    assert conditions[5] == ["cancer", "copd"]
    assert conditions[9] == ["chronic_liver_disease", "substance_use_disorder"]
    assert conditions[17] == ["anxiety", "depression", "substance_use_disorder"]
    # Hypertensive CKD and ESRD on dialysis (ICD-9) are kidney disease; old MI (412) is ischemic heart
    # disease.
    assert conditions[19] == ["atrial_fibrillation", "chronic_kidney_disease", "diabetes", "hypertension"]
    assert "coronary_artery_disease" in conditions[21]
    features = fixture_features(mimic_fixture_warehouse)
    assert (features.loc[19, ["n_chronic_conditions", "n_chronic_families"]] == [4, 3]).all()
    assert features.loc[19, ["has_cardiometabolic", "has_cardiovascular", "has_renal"]].all()


# --- Synthetic population: invariants and independent recomputations from the raw tables -----------------

def test_every_patient_has_exactly_one_feature_row(synthetic_warehouse: Path) -> None:
    counts = query(
        synthetic_warehouse,
        "select (select count(*) from mimiciv_hosp.patients) as n_patients, count(*) as n_rows, "
        "count(distinct subject_id) as n_subjects from marts.patient_features",
    ).iloc[0]
    assert counts.n_rows == counts.n_patients == counts.n_subjects


def test_feature_invariants(synthetic_warehouse: Path) -> None:
    features = query(synthetic_warehouse, "select * from marts.patient_features")
    with_admission = features.n_admissions > 0
    assert with_admission.any()
    assert (features.n_emergency_admissions <= features.n_admissions).all()
    assert (features.n_ed_admissions <= features.n_admissions).all()
    assert (features.n_readmissions_30d <= features.n_readmissions_60d).all()
    assert (features.n_readmissions_60d <= features.n_readmissions_90d).all()
    assert (features.n_readmissions_90d <= (features.n_admissions - 1).clip(lower=0)).all()
    assert (features.charlson_max.isna() == ~with_admission).all()
    assert (features.charlson_latest <= features.charlson_max).all()
    assert (features.days_since_last_admission.isna() == ~with_admission).all()
    assert (features.has_chronic_condition == (features.n_chronic_conditions > 0)).all()
    family_flags = features.filter(regex="^has_(?!chronic)").sum(axis=1)
    assert (family_flags == features.n_chronic_families).all()
    assert (features.n_chronic_families <= features.n_chronic_conditions).all()


def charlson_with_mimic_code_formula(warehouse: Path) -> pd.DataFrame:
    """int_admission_charlson with mimic-code's own GREATEST() formula recomputed from the flags."""
    charlson = query(warehouse, "select * from intermediate.int_admission_charlson")
    formula = (
        charlson.age_score
        + charlson[["myocardial_infarct", "congestive_heart_failure", "peripheral_vascular_disease",
                    "cerebrovascular_disease", "dementia", "chronic_pulmonary_disease", "rheumatic_disease",
                    "peptic_ulcer_disease"]].sum(axis=1)
        + np.maximum(charlson.mild_liver_disease, 3 * charlson.severe_liver_disease)
        + np.maximum(2 * charlson.diabetes_with_cc, charlson.diabetes_without_cc)
        + np.maximum(2 * charlson.malignant_cancer, 6 * charlson.metastatic_solid_tumor)
        + 2 * charlson.paraplegia + 2 * charlson.renal_disease + 6 * charlson.aids
    )
    return charlson.assign(formula=formula)


def test_charlson_index_equals_mimic_code_formula(synthetic_warehouse: Path) -> None:
    """The seed-driven hierarchy sum against mimic-code's formula over the whole synthetic population."""
    charlson = charlson_with_mimic_code_formula(synthetic_warehouse)
    assert (charlson.charlson_comorbidity_index == charlson.formula).all()
    assert (charlson.charlson_comorbidity_index > charlson.age_score).any()


def test_charlson_formula_holds_on_hierarchy_conflicts(mimic_fixture_warehouse: Path) -> None:
    charlson = charlson_with_mimic_code_formula(mimic_fixture_warehouse)
    assert (charlson.charlson_comorbidity_index == charlson.formula).all()
    conflicts = (
        (charlson.mild_liver_disease & charlson.severe_liver_disease)
        | (charlson.diabetes_without_cc & charlson.diabetes_with_cc)
        | (charlson.malignant_cancer & charlson.metastatic_solid_tumor)
    )
    assert conflicts.sum() >= 6


def raw_admissions(warehouse: Path) -> pd.DataFrame:
    return query(
        warehouse,
        "select a.subject_id, a.hadm_id, a.admittime, a.dischtime, a.hospital_expire_flag, p.anchor_age, "
        "p.anchor_year from mimiciv_hosp.admissions a join mimiciv_hosp.patients p using (subject_id)",
    ).sort_values(["subject_id", "admittime", "hadm_id"], ignore_index=True)


def pandas_readmission_counts(admissions: pd.DataFrame) -> pd.DataFrame:
    """Episodes and 30/60/90-day readmissions per patient, recomputed with pandas from raw admissions."""
    running_max_discharge = admissions.groupby("subject_id").dischtime.cummax()
    prior_max_discharge = running_max_discharge.groupby(admissions.subject_id).shift()
    starts = prior_max_discharge.isna() | (
        (admissions.admittime > prior_max_discharge)
        & (admissions.admittime.dt.normalize() != prior_max_discharge.dt.normalize())
    )
    admissions = admissions.assign(episode=starts.astype(int).groupby(admissions.subject_id).cumsum())
    episodes = admissions.groupby(["subject_id", "episode"], as_index=False).agg(
        start=("admittime", "min"), end=("dischtime", "max"), died=("hospital_expire_flag", "max")
    )
    gap = episodes.groupby("subject_id").start.shift(-1) - episodes.end
    is_index = episodes.died == 0
    return pd.DataFrame({
        f"n_readmissions_{days}d":
            (is_index & (gap <= pd.Timedelta(days=days))).groupby(episodes.subject_id).sum()
        for days in (30, 60, 90)
    })


def test_readmissions_match_an_independent_recomputation(synthetic_warehouse: Path) -> None:
    expected = pandas_readmission_counts(raw_admissions(synthetic_warehouse))
    features = query(
        synthetic_warehouse,
        "select subject_id, n_readmissions_30d, n_readmissions_60d, n_readmissions_90d "
        "from marts.patient_features where n_admissions > 0",
    ).set_index("subject_id").sort_index()
    pd.testing.assert_frame_equal(features, expected.sort_index().astype(features.dtypes.to_dict()),
                                  check_names=False)
    assert features.n_readmissions_30d.sum() > 0


def test_age_and_code_counts_match_the_raw_tables(synthetic_warehouse: Path) -> None:
    admissions = raw_admissions(synthetic_warehouse)
    last = admissions.groupby("subject_id").tail(1).set_index("subject_id")
    expected_age = last.anchor_age + last.admittime.dt.year - last.anchor_year
    expected_codes = query(
        synthetic_warehouse,
        "select subject_id, upper(trim(icd_code)) as icd_code, icd_version from mimiciv_hosp.diagnoses_icd",
    ).drop_duplicates().groupby("subject_id").size()
    features = query(
        synthetic_warehouse,
        "select subject_id, age_at_last_admission, n_unique_icd_codes from marts.patient_features",
    ).set_index("subject_id")
    assert (features.age_at_last_admission.loc[expected_age.index] == expected_age).all()
    codes = features.n_unique_icd_codes
    assert (codes.loc[expected_codes.index] == expected_codes).all()
    assert (codes.drop(expected_codes.index) == 0).all()
