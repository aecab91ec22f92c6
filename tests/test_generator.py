"""The synthetic MIMIC-IV generator (`python -m generator`): contract, MIMIC conventions, clinical structure,
determinism, command line and safe replacement of an existing warehouse."""

from __future__ import annotations

import csv
import gzip
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from conftest import TEST_PATIENTS, TEST_SEED, generate, run_cli

from generator import cli, datafiles, icd10, ids, pipeline, schema, vocab, warehouse
from generator.archetypes import ARCHETYPES
from generator.errors import GenerationError
from generator.pipeline import GENERATOR_VERSION

SMALL_PATIENTS = 400
SMALL_SEED = 3
CONDITION_CODES = datafiles.data_path("condition_codes.csv")


def rows(db: Path, sql: str, parameters: list[object] | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, parameters or []).fetchall()


def scalar(db: Path, sql: str) -> object:
    return rows(db, sql)[0][0]


def distinct(db: Path, column: str, table: str) -> set[object]:
    return {row[0] for row in rows(db, f"select distinct {column} from {table}")}


def content_hashes(db: Path) -> dict[str, tuple]:
    """Row count and an order-independent hash of every raw and truth table."""
    names = [table.qualified_name for table in schema.RAW_TABLES]
    names += [f"{schema.TRUTH_SCHEMA}.{name}" for name in warehouse.TRUTH_TABLES]
    with duckdb.connect(str(db), read_only=True) as con:
        return {name: con.execute(f"select count(*), sum(hash(t)) from {name} t").fetchone()
                for name in names}


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("small") / "small.duckdb"
    generate(db, patients=SMALL_PATIENTS, seed=SMALL_SEED)
    return db


@pytest.fixture
def small_copy(small_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(small_db, copy)
    return copy


# --- the contract ------------------------------------------------------------------------------------------


def test_raw_tables_have_exactly_the_contract_columns(synthetic_raw: Path) -> None:
    for table in schema.RAW_TABLES:
        found = rows(synthetic_raw, """
            select column_name, data_type, is_nullable from information_schema.columns
            where table_schema = ? and table_name = ? order by ordinal_position
        """, [table.schema, table.name])
        expected = [
            (column.name, re.sub(r"\(.*\)", "", column.sql_type).upper(), "NO" if column.not_null else "YES")
            for column in table.columns
        ]
        assert found == expected, table.qualified_name


def test_raw_schemas_hold_only_the_raw_tables(synthetic_raw: Path) -> None:
    found = set(rows(synthetic_raw, """
        select table_schema, table_name from information_schema.tables
        where table_schema in ('mimiciv_hosp', 'mimiciv_icu')
    """))
    assert found == {(table.schema, table.name) for table in schema.RAW_TABLES}


def test_truth_lives_only_in_its_own_schema(synthetic_raw: Path) -> None:
    truth_columns = {"archetype", "latent_risk", "condition", "real_anchor_year", "year_shift"}
    leaked = rows(synthetic_raw, f"""
        select table_schema, table_name, column_name from information_schema.columns
        where table_schema in ('mimiciv_hosp', 'mimiciv_icu')
          and column_name in ({", ".join(f"'{name}'" for name in sorted(truth_columns))})
    """)
    assert leaked == []
    per_patient = rows(synthetic_raw, """
        select count(*), count(distinct subject_id), min(latent_risk), max(latent_risk)
        from synthetic_truth.patient_archetypes
    """)[0]
    assert per_patient[:2] == (TEST_PATIENTS, TEST_PATIENTS)
    assert 0.0 < per_patient[2] < per_patient[3] < 1.0
    assert scalar(synthetic_raw, """
        select count(*) from mimiciv_hosp.patients
        anti join synthetic_truth.patient_archetypes using (subject_id)
    """) == 0
    assert distinct(synthetic_raw, "archetype", "synthetic_truth.archetypes") == {
        archetype.name for archetype in ARCHETYPES}
    generation = rows(synthetic_raw, """
        select generator_version, patients, seed, release_end_year from synthetic_truth.generation
    """)
    assert generation == [(GENERATOR_VERSION, TEST_PATIENTS, TEST_SEED, vocab.DEFAULT_RELEASE_END_YEAR)]


def test_keys_are_unique_and_in_mimic_ranges(synthetic_raw: Path) -> None:
    for table, key, low, high in [
        ("mimiciv_hosp.patients", "subject_id", 10_000_000, 19_999_999),
        ("mimiciv_hosp.admissions", "hadm_id", 20_000_000, 29_999_999),
        ("mimiciv_icu.icustays", "stay_id", 30_000_000, 39_999_999),
    ]:
        total, distinct, smallest, largest = rows(
            synthetic_raw, f"select count(*), count(distinct {key}), min({key}), max({key}) from {table}")[0]
        assert total == distinct, f"{table}.{key} is not unique"
        assert low <= smallest and largest <= high, f"{table}.{key} outside {low}-{high}"
    assert scalar(synthetic_raw, """
        select count(*) from (select hadm_id, icd_code, icd_version from mimiciv_hosp.diagnoses_icd
                              group by all having count(*) > 1)
    """) == 0
    assert scalar(synthetic_raw, """
        select count(*) from (select icd_code, icd_version from mimiciv_hosp.d_icd_diagnoses group by all
                              having count(*) > 1)
    """) == 0


def test_referential_integrity(synthetic_raw: Path) -> None:
    orphans = {
        "admissions without patient": """
            select count(*) from mimiciv_hosp.admissions
            anti join mimiciv_hosp.patients using (subject_id)""",
        "diagnoses without admission": """
            select count(*) from mimiciv_hosp.diagnoses_icd anti join mimiciv_hosp.admissions
            using (subject_id, hadm_id)""",
        "ICU stays without admission": """
            select count(*) from mimiciv_icu.icustays
            anti join mimiciv_hosp.admissions using (subject_id, hadm_id)""",
        "codes missing from d_icd_diagnoses": """
            select count(*) from mimiciv_hosp.diagnoses_icd anti join mimiciv_hosp.d_icd_diagnoses
            using (icd_code, icd_version)""",
        "admissions without a diagnosis": """
            select count(*) from mimiciv_hosp.admissions
            anti join mimiciv_hosp.diagnoses_icd using (hadm_id)""",
    }
    for what, sql in orphans.items():
        assert scalar(synthetic_raw, sql) == 0, what


def test_code_dictionary(synthetic_raw: Path) -> None:
    counts = dict(rows(synthetic_raw, """
        select icd_version, count(*) from mimiciv_hosp.d_icd_diagnoses group by 1
    """))
    assert counts[10] > 95_000
    assert counts[9] == len(datafiles.load_icd9_titles(datafiles.data_path("icd9_codes.csv")))
    assert scalar(synthetic_raw, """
        select count(*) from mimiciv_hosp.d_icd_diagnoses
        where icd_code like '%.%' or length(icd_code) > 7 or long_title is null or length(long_title) > 255
           or long_title <> trim(long_title) or long_title like '%  %'
           or contains(long_title, chr(9)) or contains(long_title, chr(10))
    """) == 0
    titles = dict(((code, version), title) for code, version, title in rows(synthetic_raw, """
        select icd_code, icd_version, long_title from mimiciv_hosp.d_icd_diagnoses
        where icd_code in ('4280', 'I5023', 'E119', 'S72001A')
    """))
    assert titles[("4280", 9)] == "Congestive heart failure, unspecified"
    assert titles[("I5023", 10)] == "Acute on chronic systolic (congestive) heart failure"
    assert titles[("E119", 10)] == "Type 2 diabetes mellitus without complications"
    assert titles[("S72001A", 10)].startswith("Fracture of unspecified part of neck of right femur")


# --- MIMIC conventions -------------------------------------------------------------------------------------


def test_times_are_ordered(synthetic_raw: Path) -> None:
    checks = {
        "admission ends before it starts": """
            select count(*) from mimiciv_hosp.admissions where dischtime <= admittime""",
        "ED times incomplete or reversed": """
            select count(*) from mimiciv_hosp.admissions
            where (edregtime is null) <> (edouttime is null) or edouttime <= edregtime
               or edregtime > admittime or edouttime > dischtime""",
        "overlapping admissions of one patient": """
            select count(*) from (
                select admittime, lag(dischtime) over (partition by subject_id order by admittime) previous
                from mimiciv_hosp.admissions) where admittime < previous""",
        "ICU stay outside its admission's care by more than minutes": """
            select count(*) from mimiciv_icu.icustays i join mimiciv_hosp.admissions a using (hadm_id)
            where i.intime < a.admittime - interval 1 hour
               or i.outtime > greatest(a.dischtime, a.deathtime) + interval 1 hour
               or i.outtime <= i.intime""",
        "los differs from outtime - intime": """
            select count(*) from mimiciv_icu.icustays
            where abs(los - epoch(outtime - intime) / 86400.0) > 1e-9""",
        "diagnoses not numbered 1..n": """
            select count(*) from (select hadm_id, min(seq_num) low, max(seq_num) high, count(*) n
                                  from mimiciv_hosp.diagnoses_icd group by 1) where low <> 1 or high <> n""",
    }
    for what, sql in checks.items():
        assert scalar(synthetic_raw, sql) == 0, what


def test_deaths_are_consistent(synthetic_raw: Path) -> None:
    checks = {
        "deathtime, flag and DIED disagree": """
            select count(*) from mimiciv_hosp.admissions
            where (deathtime is not null) <> (hospital_expire_flag = 1)
               or (hospital_expire_flag = 1) <> coalesce(discharge_location = 'DIED', false)""",
        "death before the discharge or on another day": """
            select count(*) from mimiciv_hosp.admissions
            where deathtime < dischtime or deathtime::date <> dischtime::date""",
        "dod differs from the in-hospital death": """
            select count(*) from mimiciv_hosp.admissions a join mimiciv_hosp.patients p using (subject_id)
            where a.deathtime is not null and p.dod is distinct from a.deathtime::date""",
        "admission after a death": """
            select count(*) from mimiciv_hosp.admissions a join mimiciv_hosp.admissions d using (subject_id)
            where d.deathtime is not null and a.admittime > d.admittime""",
        "dod outside a year after the last discharge": """
            select count(*) from mimiciv_hosp.patients p join (
                select subject_id, max(dischtime) last_discharge from mimiciv_hosp.admissions group by 1)
            using (subject_id)
            where p.dod < last_discharge::date or p.dod > last_discharge::date + 366""",
        "dod without any admission": """
            select count(*) from mimiciv_hosp.patients anti join mimiciv_hosp.admissions using (subject_id)
            where dod is not null""",
    }
    for what, sql in checks.items():
        assert scalar(synthetic_raw, sql) == 0, what
    deaths_in, deaths_after = rows(synthetic_raw, """
        select count(*) filter (where died), count(*) filter (where dod is not null and not died)
        from mimiciv_hosp.patients p
        left join (select subject_id, bool_or(hospital_expire_flag = 1) died
                   from mimiciv_hosp.admissions group by 1) using (subject_id)
    """)[0]
    assert deaths_in > 0 and deaths_after > 0


def test_anchor_conventions(synthetic_raw: Path) -> None:
    groups = vocab.values(vocab.ANCHOR_YEAR_GROUPS)
    assert distinct(synthetic_raw, "anchor_year_group", "mimiciv_hosp.patients") == set(groups)
    assert scalar(synthetic_raw, """
        select count(*) from mimiciv_hosp.patients
        where anchor_age < 18 or (anchor_age > 89 and anchor_age <> 91)
           or anchor_year not between 2100 and 2210 or gender not in ('M', 'F')
    """) == 0
    assert scalar(synthetic_raw, "select count(*) from mimiciv_hosp.patients where anchor_age = 91") > 0
    assert scalar(synthetic_raw, """
        select count(*) from mimiciv_hosp.admissions a join mimiciv_hosp.patients p using (subject_id)
        where year(a.admittime) not between 2100 and 2210 or year(a.dischtime) > 2210
           or p.anchor_age + year(a.admittime) - p.anchor_year < 18
    """) == 0
    # The real anchor year lies in the patient's anchor_year_group.
    assert scalar(synthetic_raw, """
        select count(*) from mimiciv_hosp.patients p
        join synthetic_truth.patient_calendar c using (subject_id)
        where c.real_anchor_year not between left(p.anchor_year_group, 4)::int
                                         and left(p.anchor_year_group, 4)::int + 2
           or c.year_shift <> p.anchor_year - c.real_anchor_year
    """) == 0


def test_icd_version_follows_the_real_date(synthetic_raw: Path) -> None:
    real = """
        select d.icd_version, year(a.admittime) - c.year_shift real_year, month(a.admittime) real_month
        from mimiciv_hosp.diagnoses_icd d join mimiciv_hosp.admissions a using (hadm_id)
        join synthetic_truth.patient_calendar c on c.subject_id = a.subject_id
    """
    assert scalar(synthetic_raw, f"""
        select count(*) from ({real})
        where real_year not between 2008 and 2022
           or icd_version <> case when real_year > 2015 or (real_year = 2015 and real_month >= 10)
                                  then 10 else 9 end
    """) == 0
    # What can be checked on any MIMIC-IV release, from anchor_year_group alone.
    assert scalar(synthetic_raw, """
        select count(*) from (
            select d.icd_version,
                   left(p.anchor_year_group, 4)::int + year(a.admittime) - p.anchor_year earliest
            from mimiciv_hosp.diagnoses_icd d join mimiciv_hosp.admissions a using (hadm_id)
            join mimiciv_hosp.patients p on p.subject_id = a.subject_id)
        where (earliest + 2 < 2015 and icd_version <> 9) or (earliest >= 2016 and icd_version <> 10)
    """) == 0
    assert distinct(synthetic_raw, "icd_version", "mimiciv_hosp.diagnoses_icd") == {9, 10}


def test_values_come_from_mimic_lists(synthetic_raw: Path) -> None:
    def values_of(*pools: vocab.Pool) -> set[str | None]:
        return {value for pool in pools for value in vocab.values(pool)}

    allowed = {
        "admission_type": values_of(vocab.ED_ADMISSION_TYPES, vocab.DIRECT_ADMISSION_TYPES),
        "admission_location": values_of(vocab.ED_ADMISSION_LOCATIONS, vocab.DIRECT_ADMISSION_LOCATIONS),
        "discharge_location": values_of(*vocab.DISCHARGE_LOCATIONS.values()) | {vocab.DIED},
        "insurance": values_of(vocab.INSURANCE_SENIOR, vocab.INSURANCE_BEHAVIORAL,
                               vocab.INSURANCE_WORKING_AGE),
        "language": values_of(vocab.LANGUAGES),
        "marital_status": values_of(*vocab.MARITAL_STATUS),
        "race": values_of(vocab.RACES),
    }
    for column, values in allowed.items():
        assert distinct(synthetic_raw, column, "mimiciv_hosp.admissions") <= values, column
    assert len(distinct(synthetic_raw, "race", "mimiciv_hosp.admissions")) >= 20
    providers = distinct(synthetic_raw, "admit_provider_id", "mimiciv_hosp.admissions")
    assert len(providers) > 100
    assert all(re.fullmatch(r"P[0-9A-Z]{5}", str(provider)) for provider in providers)
    for column in ("first_careunit", "last_careunit"):
        assert distinct(synthetic_raw, column, "mimiciv_icu.icustays") <= values_of(vocab.CAREUNITS)
    assert scalar(synthetic_raw, """
        select count(*) from mimiciv_hosp.admissions
        where admission_location = 'EMERGENCY ROOM' and edregtime is null
    """) == 0


def test_population_ratios_are_near_mimic(synthetic_raw: Path) -> None:
    patients, admissions, diagnoses, stays, never_admitted = rows(synthetic_raw, """
        select (select count(*) from mimiciv_hosp.patients), (select count(*) from mimiciv_hosp.admissions),
               (select count(*) from mimiciv_hosp.diagnoses_icd), (select count(*) from mimiciv_icu.icustays),
               (select count(*) from mimiciv_hosp.patients
                anti join mimiciv_hosp.admissions using (subject_id))
    """)[0]
    # MIMIC-IV 3.1: 1.50 admissions per patient, 11.7 diagnoses per admission, 0.17 ICU stays per admission.
    assert admissions / patients == pytest.approx(1.50, abs=0.12)
    assert diagnoses / admissions == pytest.approx(11.7, abs=0.7)
    assert stays / admissions == pytest.approx(0.17, abs=0.03)
    assert 0.25 < never_admitted / patients < 0.5


# --- MIMIC-IV quirks, at realistic rates -------------------------------------------------------------------

# The admission before each one and whether it continues a same-day transfer: starts on the day, and after,
# the previous discharge of the same patient.
WITH_PREVIOUS = """
    select *, lag(admission_type) over w previous_type, lag(admittime) over w previous_admittime,
           lag(dischtime) over w previous_dischtime, lag(edregtime) over w previous_edregtime,
           coalesce(admittime::date = lag(dischtime) over w::date and admittime >= lag(dischtime) over w,
                    false) continues_transfer
    from mimiciv_hosp.admissions window w as (partition by subject_id order by admittime)
"""


def test_some_deaths_are_recorded_after_the_discharge(synthetic_raw: Path) -> None:
    """About 4 of 15 in-hospital deaths in MIMIC-IV's demo: the discharge at the start of the day of death,
    the death hours later, the ICU stay running to the death."""
    deaths, late, at_midnight, late_with_icu = rows(synthetic_raw, """
        select count(*), count(*) filter (where deathtime > dischtime),
               count(*) filter (where deathtime > dischtime and dischtime::time = '00:00:00'),
               count(*) filter (where deathtime > dischtime and hadm_id in (
                   select hadm_id from mimiciv_icu.icustays))
        from mimiciv_hosp.admissions where deathtime is not null
    """)[0]
    assert deaths > 50
    assert 0.18 <= late / deaths <= 0.38
    assert at_midnight / late > 0.5 and late_with_icu / late > 0.4
    checks = {
        "late death not 10-24 h after a discharge early on the day of death": """
            select count(*) from mimiciv_hosp.admissions where deathtime > dischtime
              and (deathtime::date <> dischtime::date or dischtime::time > '03:00:00'
                   or deathtime - dischtime not between interval 10 hour and interval 24 hour)""",
        "death admission inconsistent": """
            select count(*) from mimiciv_hosp.admissions a join mimiciv_hosp.patients p using (subject_id)
            where a.deathtime is not null and (a.deathtime < a.dischtime or a.hospital_expire_flag <> 1
                  or a.discharge_location is distinct from 'DIED' or p.dod <> a.deathtime::date)""",
        "last ICU stay of a death not ending at the death": """
            select count(*) from (
                select a.deathtime, max(i.outtime) last_out from mimiciv_icu.icustays i
                join mimiciv_hosp.admissions a using (hadm_id) where a.deathtime is not null group by all)
            where last_out <> deathtime""",
        "ICU stay of a late death not ending 10-30 h past the discharge": """
            select count(*) from (
                select a.dischtime, max(i.outtime) last_out from mimiciv_icu.icustays i
                join mimiciv_hosp.admissions a using (hadm_id) where a.deathtime > a.dischtime group by all)
            where last_out - dischtime not between interval 10 hour and interval 30 hour""",
    }
    for what, sql in checks.items():
        assert scalar(synthetic_raw, sql) == 0, what


def test_some_icu_stays_cross_their_admission_by_minutes(synthetic_raw: Path) -> None:
    stays, early, late, widest = rows(synthetic_raw, """
        select count(*), count(*) filter (where i.intime < a.admittime),
               count(*) filter (where i.outtime > greatest(a.dischtime, a.deathtime)),
               greatest(max(a.admittime - i.intime), max(i.outtime - greatest(a.dischtime, a.deathtime)))
        from mimiciv_icu.icustays i join mimiciv_hosp.admissions a using (hadm_id)
    """)[0]
    assert 0.01 <= early / stays <= 0.06
    assert 0.005 <= late / stays <= 0.05
    assert widest <= timedelta(hours=1)


def test_same_day_transfers(synthetic_raw: Path) -> None:
    """An 'EU OBSERVATION' or 'EW EMER.' admission of a few hours through the ED, then minutes later on the
    same day an inpatient admission of the same patient under its own hadm_id."""
    admissions, transfers, bad = rows(synthetic_raw, f"""
        select count(*), count(*) filter (where continues_transfer),
               count(*) filter (where continues_transfer and (
                   previous_type not in ('EU OBSERVATION', 'EW EMER.') or previous_edregtime is null
                   or previous_dischtime - previous_admittime > interval 24 hour
                   or admittime - previous_dischtime > interval 1 hour
                   or admission_type in {tuple(vocab.OBSERVATION_TYPES)}))
        from ({WITH_PREVIOUS})
    """)[0]
    assert 0.015 <= transfers / admissions <= 0.06
    assert bad == 0


def test_observation_admissions_are_short(synthetic_raw: Path) -> None:
    observation, longest, median_days, others_median_days = rows(synthetic_raw, f"""
        select avg((admission_type in {tuple(vocab.OBSERVATION_TYPES)})::int),
               max(dischtime - admittime) filter (where admission_type in {tuple(vocab.OBSERVATION_TYPES)}),
               median(epoch(dischtime - admittime) / 86400)
                   filter (where admission_type in {tuple(vocab.OBSERVATION_TYPES)}),
               median(epoch(dischtime - admittime) / 86400)
                   filter (where admission_type not in {tuple(vocab.OBSERVATION_TYPES)})
        from mimiciv_hosp.admissions
    """)[0]
    assert 0.05 <= observation <= 0.25
    assert longest <= timedelta(days=2)
    assert median_days < 1.5 and others_median_days > 3.0
    types = distinct(synthetic_raw, "admission_type", "mimiciv_hosp.admissions")
    assert types >= set(vocab.OBSERVATION_TYPES)


def test_oldest_patients_are_shown_as_91(synthetic_raw: Path) -> None:
    shown_91, over_89_otherwise = rows(synthetic_raw, """
        select avg((anchor_age = 91)::int), count(*) filter (where anchor_age > 89 and anchor_age <> 91)
        from mimiciv_hosp.patients
    """)[0]
    assert 0.005 <= shown_91 <= 0.04
    assert over_89_otherwise == 0


def test_patients_switch_from_icd9_to_icd10(synthetic_raw: Path) -> None:
    """Patients with admissions on both sides of 2015-10-01 carry both versions, ICD-9 first."""
    mixed, backwards = rows(synthetic_raw, """
        with per_admission as (
            select subject_id, hadm_id, min(icd_version) version, min(a.admittime) admittime
            from mimiciv_hosp.diagnoses_icd join mimiciv_hosp.admissions a using (subject_id, hadm_id)
            group by all),
        per_patient as (
            select subject_id, count(*) n, count(distinct version) = 2 is_mixed,
                   max(admittime) filter (where version = 9) > min(admittime) filter (where version = 10)
                       is_backwards
            from per_admission group by 1)
        select avg(is_mixed::int) filter (where n >= 2), count(*) filter (where is_backwards)
        from per_patient
    """)[0]
    assert 0.03 <= mixed <= 0.15
    assert backwards == 0


def test_real_anchor_year_is_uniform_in_its_window(synthetic_raw: Path) -> None:
    shares = dict(rows(synthetic_raw, """
        select c.real_anchor_year - left(p.anchor_year_group, 4)::int, count(*) / sum(count(*)) over ()
        from mimiciv_hosp.patients p join synthetic_truth.patient_calendar c using (subject_id) group by 1
    """))
    assert set(shares) == {0, 1, 2}
    assert all(share == pytest.approx(1 / 3, abs=0.04) for share in shares.values())


@pytest.mark.parametrize("release_end_year", [2019, 2020])
def test_release_end_year_bounds_admissions_and_anchor_groups(release_end_year: int, tmp_path: Path) -> None:
    db = tmp_path / "release.duckdb"
    generate(db, patients=2000, seed=SMALL_SEED, extra=["--release-end-year", str(release_end_year)])
    groups = vocab.values(vocab.ANCHOR_YEAR_GROUPS)
    reached = {group for group in groups if int(str(group)[:4]) <= release_end_year}
    assert distinct(db, "anchor_year_group", "mimiciv_hosp.patients") == reached
    latest_anchor, latest_admission = rows(db, """
        select max(c.real_anchor_year), max(year(greatest(a.dischtime, a.deathtime)) - c.year_shift)
        from mimiciv_hosp.admissions a join synthetic_truth.patient_calendar c using (subject_id)
    """)[0]
    assert latest_anchor == latest_admission == release_end_year
    assert scalar(db, """
        select count(*) from mimiciv_hosp.patients p join (
            select subject_id, max(dischtime) last_discharge from mimiciv_hosp.admissions group by 1)
        using (subject_id)
        where p.dod < last_discharge::date or p.dod > last_discharge::date + 366
    """) == 0
    assert rows(db, "select release_end_year from synthetic_truth.generation") == [(release_end_year,)]


# --- clinical structure ------------------------------------------------------------------------------------

# Hospital stays, where the two admissions of a same-day transfer are one stay.
PER_ARCHETYPE = """
    with adm as (
        select subject_id, count(*) filter (where not continues) stays,
               sum(hospital_expire_flag) died_in_hospital,
               count(*) filter (where readmitted and not continues) readmissions_30d
        from (select *, admittime - lag(dischtime) over w < interval 30 day readmitted,
                     coalesce(admittime::date = lag(dischtime) over w::date, false) continues
              from mimiciv_hosp.admissions window w as (partition by subject_id order by admittime))
        group by 1),
    icu as (select subject_id, sum(los) icu_days from mimiciv_icu.icustays group by 1),
    cond as (select subject_id, count(*) conditions from synthetic_truth.patient_conditions group by 1)
    select t.archetype, count(*) patients, avg(coalesce(adm.stays, 0)) stays,
           max(coalesce(adm.stays, 0)) most_stays,
           avg(coalesce(adm.readmissions_30d, 0)) readmissions,
           avg(coalesce(icu.icu_days, 0)) icu_days, avg(coalesce(cond.conditions, 0)) conditions,
           min(coalesce(cond.conditions, 0)) fewest_conditions, avg((p.dod is not null)::int) died,
           avg(p.anchor_age + coalesce(year(last_admit), p.anchor_year) - p.anchor_year) age,
           avg(t.latent_risk) risk
    from synthetic_truth.patient_archetypes t join mimiciv_hosp.patients p using (subject_id)
    left join adm using (subject_id) left join icu using (subject_id) left join cond using (subject_id)
    left join (select subject_id, max(admittime) last_admit from mimiciv_hosp.admissions group by 1)
    using (subject_id)
    group by 1
"""


@pytest.fixture(scope="module")
def profiles(synthetic_raw: Path) -> dict[str, dict[str, float]]:
    with duckdb.connect(str(synthetic_raw), read_only=True) as con:
        result = con.execute(PER_ARCHETYPE)
        names = [column[0] for column in result.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in result.fetchall()}


def highest(profiles: dict[str, dict[str, float]], measure: str) -> str:
    return max(profiles, key=lambda archetype: profiles[archetype][measure])


def test_every_archetype_is_present(profiles: dict[str, dict[str, float]]) -> None:
    assert set(profiles) == {archetype.name for archetype in ARCHETYPES}
    for archetype in ARCHETYPES:
        share = profiles[archetype.name]["patients"] / TEST_PATIENTS
        assert share == pytest.approx(archetype.prevalence, abs=0.03)


def test_archetypes_have_their_utilization_profiles(profiles: dict[str, dict[str, float]]) -> None:
    icu_days = profiles["acute_icu_intensive"]["icu_days"]
    others = [profile["icu_days"] for name, profile in profiles.items() if name != "acute_icu_intensive"]
    assert icu_days > 3 * max(others)
    assert highest(profiles, "stays") == "multimorbid_frequent_utilizer"
    assert highest(profiles, "readmissions") == "multimorbid_frequent_utilizer"
    assert highest(profiles, "age") == "frail_elderly_end_of_life"
    assert highest(profiles, "died") == "frail_elderly_end_of_life"
    assert profiles["frail_elderly_end_of_life"]["died"] > 0.7
    assert highest(profiles, "risk") == "frail_elderly_end_of_life"
    healthy = profiles["healthy_low_utilizer"]
    assert healthy["most_stays"] <= 1 and healthy["conditions"] == 0 and healthy["died"] == 0
    assert min(profiles, key=lambda name: profiles[name]["risk"]) == "healthy_low_utilizer"
    assert profiles["multimorbid_frequent_utilizer"]["fewest_conditions"] >= 4
    assert profiles["chronic_stable"]["fewest_conditions"] >= 2
    assert profiles["multimorbid_frequent_utilizer"]["readmissions"] > 1.5


def test_patients_never_admitted_are_low_utilizers(synthetic_raw: Path) -> None:
    archetypes = dict(rows(synthetic_raw, """
        select archetype, count(*) from synthetic_truth.patient_archetypes
        where subject_id not in (select subject_id from mimiciv_hosp.admissions) group by 1
    """))
    assert sum(archetypes.values()) > 0
    assert archetypes.get("healthy_low_utilizer", 0) / sum(archetypes.values()) >= 0.95


def test_billed_codes_follow_the_chronic_conditions(synthetic_raw: Path) -> None:
    """Chronic condition codes are billed for exactly the patients who have the condition, and nearly every
    condition of an admitted patient shows up in their billed codes."""
    with duckdb.connect(str(synthetic_raw), read_only=True) as con:
        con.execute(f"""
            create temp table condition_code as
            with codes as (select * from read_csv('{CONDITION_CODES}', all_varchar = true))
            select condition, 9 icd_version, icd9_code icd_code from codes
            union all
            select condition, 10, icd10_code from codes
        """)
        billed = """
            select distinct d.subject_id, c.condition from mimiciv_hosp.diagnoses_icd d
            join condition_code c using (icd_code, icd_version)
        """
        unexplained = con.execute(f"""
            select count(*) from ({billed})
            anti join synthetic_truth.patient_conditions using (subject_id, condition)
        """).fetchone()[0]
        coverage = con.execute(f"""
            select avg((b.condition is not null)::int) from synthetic_truth.patient_conditions t
            semi join mimiciv_hosp.admissions a on a.subject_id = t.subject_id
            left join ({billed}) b using (subject_id, condition)
        """).fetchone()[0]
        behavioral = con.execute("""
            select count(*) from synthetic_truth.patient_archetypes a
            where archetype = 'behavioral_health_chronic' and not exists (
                select 1 from synthetic_truth.patient_conditions c
                where c.subject_id = a.subject_id and c.condition_family = 'behavioral_health')
        """).fetchone()[0]
    assert unexplained == 0
    assert coverage > 0.9
    assert behavioral == 0


# --- determinism, chunks and identifiers -------------------------------------------------------------------


def test_same_seed_gives_the_same_data(small_db: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.duckdb"
    generate(again, patients=SMALL_PATIENTS, seed=SMALL_SEED)
    assert content_hashes(again) == content_hashes(small_db)


def test_chunked_generation_keeps_identifiers_unique(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_PATIENTS", 150)
    monkeypatch.setattr(cli, "PROGRESS_MIN_PATIENTS", 1)
    db = tmp_path / "chunked.duckdb"
    assert cli.main(["--patients", "400", "--seed", "5", "--db", str(db)]) == 0
    progress = [line for line in capsys.readouterr().err.splitlines() if line.startswith("generator: chunk")]
    assert len(progress) == 3
    for table, key in [("mimiciv_hosp.patients", "subject_id"), ("mimiciv_hosp.admissions", "hadm_id"),
                       ("mimiciv_icu.icustays", "stay_id")]:
        total, distinct = rows(db, f"select count(*), count(distinct {key}) from {table}")[0]
        assert total == distinct > 0
    assert scalar(db, "select count(*) from mimiciv_hosp.patients") == 400


def test_identifier_scrambles_are_collision_free() -> None:
    scramble = ids.scramble(np.random.default_rng(1), ids.HADM_BASE)
    first, second = scramble.ids(0, 600_000), scramble.ids(600_000, 400_000)
    together = np.concatenate([first, second])
    assert len(np.unique(together)) == len(together)
    assert together.min() >= ids.HADM_BASE and together.max() < ids.HADM_BASE + ids.RANGE_SIZE
    with pytest.raises(OverflowError):
        scramble.ids(ids.RANGE_SIZE - 5, 10)


# --- command line ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arguments", [
    ["--patients", "0", "--seed", "1"],
    ["--patients", "-5", "--seed", "1"],
    ["--patients", "abc", "--seed", "1"],
    ["--patients", "2.5", "--seed", "1"],
    ["--patients", "100", "--seed", "one"],
    ["--patients", "100", "--seed", "1", "--unknown-option"],
    ["--patients", "100"],
    ["--patients", "100", "--seed", "1", "--release-end-year", "2018"],
    ["--patients", "100", "--seed", "1", "--release-end-year", "2023"],
    ["--patients", "100", "--seed", "1", "--release-end-year", "v2.2"],
])
def test_bad_arguments_end_with_one_line_and_status_2(arguments: list[str], tmp_path: Path) -> None:
    db = tmp_path / "never.duckdb"
    result = run_cli([sys.executable, "-m", "generator", *arguments, "--db", str(db)], check=False)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("generator: error:")
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not db.exists()


@pytest.mark.parametrize("db_argument", ["missing-folder/x.duckdb", "."])
def test_unusable_db_path_is_rejected(db_argument: str, tmp_path: Path) -> None:
    result = run_cli([sys.executable, "-m", "generator", "--patients", "10", "--seed", "1",
                      "--db", str(tmp_path / db_argument)], check=False)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "--db" in result.stderr


def test_a_file_that_is_not_a_warehouse_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "notes.duckdb"
    db.write_text("not a database\n")
    result = run_cli([sys.executable, "-m", "generator", "--patients", "10", "--seed", "1", "--db", str(db)],
                     check=False)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("generator: error:")
    assert db.read_text() == "not a database\n"


def test_skip_if_current_leaves_a_current_warehouse_alone(small_copy: Path) -> None:
    before = small_copy.stat().st_mtime_ns, content_hashes(small_copy)
    result = generate(small_copy, patients=SMALL_PATIENTS, seed=SMALL_SEED, extra=["--skip-if-current"])
    assert len(result.stdout.splitlines()) == 1 and "already holds" in result.stdout
    assert (small_copy.stat().st_mtime_ns, content_hashes(small_copy)) == before


def test_skip_if_current_regenerates_for_another_release_end_year(small_copy: Path) -> None:
    result = generate(small_copy, patients=SMALL_PATIENTS, seed=SMALL_SEED,
                      extra=["--skip-if-current", "--release-end-year", "2019"])
    assert "wrote" in result.stdout
    assert rows(small_copy, "select release_end_year from synthetic_truth.generation") == [(2019,)]


def test_skip_if_current_regenerates_over_an_older_generators_record(small_copy: Path) -> None:
    with duckdb.connect(str(small_copy)) as con:
        con.execute("alter table synthetic_truth.generation drop column release_end_year")
    result = generate(small_copy, patients=SMALL_PATIENTS, seed=SMALL_SEED, extra=["--skip-if-current"])
    assert "wrote" in result.stdout
    assert rows(small_copy, "select release_end_year from synthetic_truth.generation") == [(2022,)]


def test_other_generation_replaces_raw_tables_and_keeps_other_schemas(small_db: Path,
                                                                      small_copy: Path) -> None:
    with duckdb.connect(str(small_copy)) as con:
        con.execute("create schema marts; create table marts.kept as select 42 answer")
        con.execute("create schema staging; "
                    "create view staging.patients as select * from mimiciv_hosp.patients")
    result = generate(small_copy, patients=SMALL_PATIENTS, seed=SMALL_SEED + 1, extra=["--skip-if-current"])
    assert "wrote" in result.stdout
    replaced, original = content_hashes(small_copy), content_hashes(small_db)
    for table in (schema.PATIENTS, schema.ADMISSIONS, schema.DIAGNOSES_ICD, schema.ICUSTAYS):
        assert replaced[table.qualified_name] != original[table.qualified_name]
    assert replaced[schema.D_ICD_DIAGNOSES.qualified_name] == original[schema.D_ICD_DIAGNOSES.qualified_name]
    assert rows(small_copy, "select seed from synthetic_truth.generation") == [(SMALL_SEED + 1,)]
    assert rows(small_copy, "select answer from marts.kept") == [(42,)]
    # Views over the raw tables (dbt's staging layer) see the new rows.
    assert scalar(small_copy, "select count(*) from staging.patients") == SMALL_PATIENTS
    assert rows(small_copy, "select sum(hash(t)) from staging.patients t") == rows(
        small_copy, "select sum(hash(t)) from mimiciv_hosp.patients t")


def test_csv_dir_writes_physionet_layout(small_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "mimic"
    generate(small_copy, patients=SMALL_PATIENTS, seed=SMALL_SEED,
             extra=["--skip-if-current", "--csv-dir", str(out)])
    written = sorted(path.relative_to(out).as_posix() for path in out.rglob("*.csv.gz"))
    assert written == sorted(f"{table.file_stem}.csv.gz" for table in schema.RAW_TABLES)
    for table in schema.RAW_TABLES:
        with gzip.open(out / f"{table.file_stem}.csv.gz", "rt", newline="") as handle:
            reader = csv.reader(handle)
            assert next(reader) == table.column_names
            lines = list(reader)
        assert len(lines) == scalar(small_copy, f"select count(*) from {table.qualified_name}")
    with gzip.open(out / "hosp/admissions.csv.gz", "rt", newline="") as handle:
        admission = next(csv.DictReader(handle))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", admission["admittime"])
    assert admission["deathtime"] == ""


# --- safe replacement --------------------------------------------------------------------------------------


Insert = Callable[[duckdb.DuckDBPyConnection, str, pa.Table], None]


def failing_insert(original: Insert) -> Insert:
    """warehouse.insert, failing once the first chunk's patients and admissions are in."""
    def insert(con: duckdb.DuckDBPyConnection, qualified_name: str, table: pa.Table) -> None:
        if qualified_name == schema.DIAGNOSES_ICD.qualified_name:
            raise GenerationError("injected failure while writing diagnoses")
        original(con, qualified_name, table)
    return insert


def test_failure_midway_leaves_previous_data_intact(small_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with duckdb.connect(str(small_copy)) as con:
        con.execute("create schema marts; create table marts.kept as select 42 answer")
    before = content_hashes(small_copy)
    monkeypatch.setattr(warehouse, "insert", failing_insert(warehouse.insert))
    status = cli.main(["--patients", "300", "--seed", "99", "--db", str(small_copy)])
    error = capsys.readouterr().err
    assert status == 1
    assert error.splitlines() == ["generator: error: injected failure while writing diagnoses"]
    assert content_hashes(small_copy) == before
    assert rows(small_copy, "select answer from marts.kept") == [(42,)]


def test_failed_first_generation_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "new.duckdb"
    monkeypatch.setattr(warehouse, "insert", failing_insert(warehouse.insert))
    assert cli.main(["--patients", "50", "--seed", "1", "--db", str(db)]) == 1
    assert not db.exists()


# --- package data ------------------------------------------------------------------------------------------


def test_data_file_errors_name_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "codes.csv"
    bad.write_text("pool,weight,icd9_code,icd10_code\nsepsis,1.0,0389,A419\nsepsis,heavy,0380,A410\n")
    with pytest.raises(datafiles.DataFileError, match=r"codes\.csv, line 3, column weight: 'heavy'"):
        datafiles.load_concepts(bad, "pool", None)
    bad.write_text("pool,weight,icd9_code,icd10_code\nsepsis,1.0,038.9,A41.9\n")
    with pytest.raises(datafiles.DataFileError, match="line 2, column icd9_code"):
        datafiles.load_concepts(bad, "pool", None)


def test_codes_are_unique_per_version_across_pools() -> None:
    concept = datafiles.CodeConcept
    with pytest.raises(datafiles.DataFileError, match="I10"):
        datafiles.check_concepts(
            (concept("hypertension", 1.0, "4019", "I10"), concept("other", 1.0, "4011", "I10")),
            {"4019": "a", "4011": "b"},
        )


# simple_icd_10_cm reads its data through importlib.resources calls deprecated since Python 3.11.
@pytest.mark.filterwarnings(r"ignore:\w+ is deprecated\. Use files\(\) instead:DeprecationWarning")
def test_shipped_icd10_list_is_what_simple_icd_10_cm_yields(tmp_path: Path) -> None:
    """Rebuild it with `python -m generator.icd10 --write` when this fails after a package upgrade."""
    rebuilt = tmp_path / icd10.SHIPPED_FILE
    icd10.write_shipped(rebuilt)
    assert icd10.shipped_dictionary(rebuilt) == icd10.shipped_dictionary()
    assert rebuilt.read_bytes() == datafiles.data_path(icd10.SHIPPED_FILE).read_bytes()


def test_malformed_icd10_list_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / icd10.SHIPPED_FILE
    with gzip.open(broken, "wt", encoding="utf-8") as handle:
        handle.write("A00\tCholera\nA000 Cholera due to Vibrio cholerae 01, biovar cholerae\n")
    with pytest.raises(datafiles.DataFileError, match="line 2"):
        icd10.shipped_dictionary(broken)


def test_every_billed_icd9_code_has_a_title() -> None:
    data = datafiles.load_package_data(tuple(archetype.name for archetype in ARCHETYPES))
    billed = {concept.icd9_code for concept in data.condition_codes + data.acute_codes}
    assert billed <= set(data.icd9_titles)


def pool_rows() -> Iterator[dict[str, str]]:
    with datafiles.data_path("archetype_pools.csv").open(newline="") as handle:
        yield from csv.DictReader(handle)


def test_every_archetype_has_principal_and_secondary_pools() -> None:
    roles = {(row["archetype"], row["role"]) for row in pool_rows()}
    expected = {(archetype.name, role) for archetype in ARCHETYPES for role in ("principal", "secondary")}
    assert roles == expected
