"""Nothing lost: every raw row is staged or rejected with a reason, on faulty and on clean data.

One full build of the fixture carrying every row fault of tests/test_bad_inputs.py checks each rejected row by
table, key and reason, the cascade from a rejected patient down to its ICU stay, and that the models
downstream of staging only see the staged rows. A small build checks what cannot be shown next to the other
faults: the build failing when too large a share of a table is rejected.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURE_MIMIC_DIR, load_mimic, run_dbt
from test_bad_inputs import (
    ADMISSIONS,
    DIAGNOSES,
    ICUSTAYS,
    PATIENTS,
    ROW_FAULTS,
    SENTINEL_DISCHTIME,
    STAY_30100191_FROM_8_HOURS_EARLY,
    Reject,
    damaged_with_row_faults,
    diagnosis_key,
    row_changed,
)
from test_load import TABLES, copy_fixture, read_text, source_path

# The corpus rejects most of the fixture's few ICU stays; the share limit has a test of its own below.
ALL_FAULTS_VARS = ["--vars", "{max_reject_share: 1}"]
REJECT_LINE = re.compile(r"rejected raw rows: (\S+) (\S+) (\d+)")
# A damaged fixture after dbt: the warehouse, dbt's output and its exit code.
BuildOutcome = tuple[Path, str, int]


def fixture_rows(table: str) -> list[dict[str, str]]:
    """The rows of the clean fixture's file for `table`, as text."""
    return list(csv.DictReader(io.StringIO(read_text(source_path(FIXTURE_MIMIC_DIR, TABLES[table])))))


def cascaded_rejects(hadm_ids: tuple[int, ...]) -> list[Reject]:
    """The fixture's diagnoses and ICU stays of rejected admissions, each rejected with its admission."""
    wanted = {str(hadm_id) for hadm_id in hadm_ids}
    diagnoses = [
        Reject(DIAGNOSES, diagnosis_key(int(row["hadm_id"]), int(row["seq_num"]), row["icd_code"],
                                        int(row["icd_version"])), "parent_admission_rejected")
        for row in fixture_rows(DIAGNOSES) if row["hadm_id"] in wanted
    ]
    stays = [Reject(ICUSTAYS, f"stay_id={row['stay_id']}", "parent_admission_rejected")
             for row in fixture_rows(ICUSTAYS) if row["hadm_id"] in wanted]
    return diagnoses + stays


def expected_rejects() -> Counter[Reject]:
    rejects: Counter[Reject] = Counter()
    for fault in ROW_FAULTS:
        rejects.update(fault.rejects)
        rejects.update(cascaded_rejects(fault.rejected_admissions))
    return rejects


def actual_rejects(db: Path) -> Counter[Reject]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select source_table, row_key, reject_reason from data_quality.raw_row_rejects").fetchall()
    return Counter(Reject(*row) for row in rows)


def reconciliation(db: Path) -> dict[str, tuple[int, int, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""
            select source_table, raw_rows, staged_rows, rejected_rows from data_quality.raw_row_reconciliation
        """).fetchall()
    return {table: (raw, staged, rejected) for table, raw, staged, rejected in rows}


def reported_rejects(stdout: str) -> Counter[tuple[str, str]]:
    """Rejected rows per table and reason as listed in the build output."""
    return Counter({(table, reason): int(count) for table, reason, count in REJECT_LINE.findall(stdout)})


def run_statuses(workdir: Path) -> dict[str, str]:
    """Status of every node of the last dbt command, by node name (tests by their generated name)."""
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".")[2]: result["status"] for result in results}


def build_damaged(tmp_path: Path, mimic_dir: Path, args: list[str]) -> BuildOutcome:
    """Load `mimic_dir` and run dbt with `args`; returns the warehouse, dbt's output and its exit code."""
    db = tmp_path / "warehouse.duckdb"
    load_mimic(mimic_dir, db)
    result = run_dbt(args, db, tmp_path, check=False)
    return db, result.stdout, result.returncode


# --- every row fault at once, full build ------------------------------------------------------------------

@pytest.fixture(scope="module")
def faulty_build(tmp_path_factory: pytest.TempPathFactory) -> BuildOutcome:
    workdir = tmp_path_factory.mktemp("row_faults")
    mimic_dir = damaged_with_row_faults(workdir / "mimic")
    return build_damaged(workdir, mimic_dir, ["build", *ALL_FAULTS_VARS])


@pytest.mark.dbt
def test_faulty_build_completes_with_warnings(faulty_build: BuildOutcome) -> None:
    _, stdout, exit_code = faulty_build
    assert exit_code == 0, stdout[-4000:]
    assert re.search(r"Done\. PASS=\d+ WARN=[1-9]\d* ERROR=0 SKIP=0", stdout), stdout[-2000:]


@pytest.mark.dbt
def test_every_faulty_row_is_rejected_with_its_reason(faulty_build: BuildOutcome) -> None:
    db, _, _ = faulty_build
    assert actual_rejects(db) == expected_rejects()


@pytest.mark.dbt
def test_every_raw_row_is_staged_or_rejected(faulty_build: BuildOutcome) -> None:
    db, _, _ = faulty_build
    expected = Counter(reject.source_table for reject in expected_rejects().elements())
    with duckdb.connect(str(db), read_only=True) as con:
        raw_counts = {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in TABLES}
    counts = reconciliation(db)
    assert set(counts) == set(TABLES)
    for table, (raw, staged, rejected) in counts.items():
        assert (raw, staged, rejected) == (raw_counts[table], raw_counts[table] - expected[table],
                                           expected[table]), table


@pytest.mark.dbt
def test_harmless_faults_are_staged_normalized(faulty_build: BuildOutcome) -> None:
    db, _, _ = faulty_build
    staged = [check for fault in ROW_FAULTS for check in fault.staged]
    with duckdb.connect(str(db), read_only=True) as con:
        for view, condition in staged:
            assert con.execute(f"select count(*) from staging.{view} where {condition}").fetchone()[0] == 1, \
                (view, condition)


@pytest.mark.dbt
def test_rejected_rows_keep_the_raw_row_as_written(faulty_build: BuildOutcome) -> None:
    db, _, _ = faulty_build
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select source_table, row_key, raw_row from data_quality.raw_row_rejects").fetchall()
    raw_rows = {(table, key): json.loads(raw) for table, key, raw in rows}
    for (table, _), raw in raw_rows.items():
        assert list(raw) == TABLES[table].column_names
    assert raw_rows[(DIAGNOSES, diagnosis_key(20100171, 1, "XYZ123", 10))]["icd_code"] == "XYZ123"
    assert raw_rows[("mimiciv_hosp.d_icd_diagnoses", "icd_code=E119, icd_version=10")]["icd_code"] == "e119"
    assert raw_rows[(ADMISSIONS, "hadm_id=20100092")]["dischtime"] is None
    assert raw_rows[(ADMISSIONS, "hadm_id=20100222")]["admit_provider_id"] == "PZZZZZ"


@pytest.mark.dbt
def test_a_row_with_several_faults_is_rejected_once_under_the_first(faulty_build: BuildOutcome) -> None:
    db, _, _ = faulty_build
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""
            select reject_reason, reject_reasons from data_quality.raw_row_rejects
            where source_table = 'mimiciv_icu.icustays' and stay_id = 30100998
        """).fetchall()
    assert rows == [("outtime_before_intime", ["outtime_before_intime", "negative_length_of_stay"])]


@pytest.mark.dbt
def test_reject_counts_are_summarized_and_listed_in_the_build_output(faulty_build: BuildOutcome) -> None:
    db, stdout, _ = faulty_build
    expected = Counter((reject.source_table, reject.reason) for reject in expected_rejects().elements())
    with duckdb.connect(str(db), read_only=True) as con:
        summary = con.execute("""
            select source_table, reject_reason, rejected_rows, description from data_quality.reject_summary
        """).fetchall()
    assert Counter({(table, reason): rows for table, reason, rows, _ in summary}) == expected
    assert all(description for *_, description in summary)
    assert reported_rejects(stdout) == expected


@pytest.mark.dbt
def test_models_after_staging_see_only_staged_rows(faulty_build: BuildOutcome) -> None:
    db, _, _ = faulty_build
    with duckdb.connect(str(db), read_only=True) as con:
        staged = {row[0] for row in con.execute(
            "select subject_id from staging.stg_mimic__patients").fetchall()}
        featured = {row[0] for row in con.execute(
            "select subject_id from marts.patient_features").fetchall()}
        features_25 = con.execute(
            "select count(*) from marts.patient_features where subject_id = 10100025").fetchone()[0]
        admissions_10 = con.execute(
            "select n_admissions from marts.patient_features where subject_id = 10100010").fetchone()[0]
    assert featured == staged
    assert features_25 == 0
    assert admissions_10 == 0


@pytest.mark.dbt
def test_a_sentinel_discharge_is_rejected_for_its_date_and_its_length(faulty_build: BuildOutcome) -> None:
    db, _, _ = faulty_build
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""
            select reject_reason, reject_reasons, raw_row from data_quality.raw_row_rejects
            where source_table = 'mimiciv_hosp.admissions' and hadm_id = 20100011
        """).fetchall()
    assert [(reason, reasons) for reason, reasons, _ in rows] == [
        ("timestamp_outside_patient_years", ["timestamp_outside_patient_years", "length_of_stay_too_long"])]
    assert json.loads(rows[0][2])["dischtime"] == SENTINEL_DISCHTIME


# --- cascades -----------------------------------------------------------------------------------------------

@pytest.mark.dbt
def test_rejected_patient_takes_its_admissions_diagnoses_and_icu_stays(faulty_build: BuildOutcome) -> None:
    db, _, _ = faulty_build
    admissions = [int(row["hadm_id"]) for row in fixture_rows(ADMISSIONS) if row["subject_id"] == "10100004"]
    with duckdb.connect(str(db), read_only=True) as con:
        rejected = con.execute("""
            select source_table, count(*) from data_quality.raw_row_rejects
            where subject_id = 10100004
              and reject_reason in ('impossible_anchor_age', 'parent_patient_rejected',
                                    'parent_admission_rejected')
            group by source_table
        """).fetchall()
        staged = con.execute("""
            select count(*) from (
                select subject_id from staging.stg_mimic__admissions
                union all select subject_id from staging.stg_mimic__diagnoses_icd
                union all select subject_id from staging.stg_mimic__icustays
            ) where subject_id = 10100004
        """).fetchone()[0]
    fixture_counts = Counter(reject.source_table for reject in cascaded_rejects(tuple(admissions)))
    assert dict(rejected) == {PATIENTS: 1, ADMISSIONS: len(admissions), **fixture_counts}
    assert fixture_counts[ICUSTAYS] == 1
    assert staged == 0


# --- one implausible date and the published KPIs ------------------------------------------------------------

def overall_kpis(db: Path) -> tuple[int, float]:
    """Admissions and average length of stay of the whole population, as published in schema bi."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("""
            select n_admissions, avg_los_days from bi.population_kpis where dimension = 'overall'
        """).fetchone()


@pytest.mark.dbt
def test_a_sentinel_discharge_leaves_the_average_length_of_stay_as_without_it(mimic_fixture_warehouse: Path,
                                                                              tmp_path: Path) -> None:
    """Issue 12: one admission discharged on 9999-12-31 used to be staged and moved the published average
    length of stay from days to tens of thousands of days. It is now rejected, and the average is the clean
    fixture's without that one admission."""
    mimic_dir = copy_fixture(tmp_path / "mimic")
    row_changed(ADMISSIONS, {"hadm_id": "20100011"}, dischtime=SENTINEL_DISCHTIME)(mimic_dir)
    # The published mart, the rejects and everything they are built from, with their tests (a test of a model
    # not built is left out); the whole build with this fault is test_faulty_build_completes_with_warnings.
    selection = ["--select", "+population_kpis +reject_summary", "--indirect-selection", "cautious"]
    db, stdout, exit_code = build_damaged(tmp_path, mimic_dir, ["build", *selection])
    assert exit_code == 0, stdout[-4000:]
    admission = next(row for row in fixture_rows(ADMISSIONS) if row["hadm_id"] == "20100011")
    los_days = (datetime.fromisoformat(admission["dischtime"])
                - datetime.fromisoformat(admission["admittime"])).total_seconds() / 86400
    clean_admissions, clean_avg = overall_kpis(mimic_fixture_warehouse)
    n_admissions, avg_los = overall_kpis(db)
    assert n_admissions == clean_admissions - 1
    # bi.population_kpis rounds averages to 2 decimals, so the clean average is known to within 0.005.
    expected = (clean_avg * clean_admissions - los_days) / n_admissions
    assert avg_los == pytest.approx(expected, abs=0.005 * (1 + clean_admissions / n_admissions))
    with duckdb.connect(str(db), read_only=True) as con:
        # What the build used to publish: the mean over the raw rows, the sentinel included.
        raw_avg = con.execute(
            "select avg(epoch(dischtime - admittime) / 86400) from mimiciv_hosp.admissions").fetchone()[0]
        reasons = con.execute("""
            select reject_reason from data_quality.raw_row_rejects
            where source_table = 'mimiciv_hosp.admissions'
        """).fetchall()
    assert raw_avg > 10_000 > 10 > avg_los
    assert reasons == [("timestamp_outside_patient_years",)]
    assert reported_rejects(stdout)[(ADMISSIONS, "timestamp_outside_patient_years")] == 1


# --- too many rejects ---------------------------------------------------------------------------------------

@pytest.mark.dbt
def test_build_fails_when_too_large_a_share_is_rejected(tmp_path: Path) -> None:
    mimic_dir = copy_fixture(tmp_path / "mimic")
    # One stay of six, starting 8 hours before its admission: far above the default max_reject_share.
    row_changed(ICUSTAYS, {"stay_id": "30100191"}, **STAY_30100191_FROM_8_HOURS_EARLY)(mimic_dir)
    # Only tests whose every parent is selected: a partial build must not test models it did not build.
    selection = ["--select", "+int_admission_icu +reject_summary", "--indirect-selection", "cautious"]
    db, stdout, exit_code = build_damaged(tmp_path, mimic_dir, ["build", *selection])
    assert exit_code == 1
    statuses = run_statuses(tmp_path)
    share_tests = {name: status for name, status in statuses.items()
                   if name.startswith("reject_share_within_limit_")}
    assert share_tests.pop(
        "reject_share_within_limit_stg_mimic__icustays_ref_validated_mimic__icustays_") == "fail"
    assert set(share_tests.values()) == {"pass"}
    assert statuses["int_admission_icu"] == "skipped"
    assert statuses["raw_row_rejects"] == statuses["reject_summary"] == "success"
    assert reported_rejects(stdout) == Counter({(ICUSTAYS, "icu_stay_outside_admission"): 1})
    assert actual_rejects(db) == Counter([Reject(ICUSTAYS, "stay_id=30100191", "icu_stay_outside_admission")])


# --- clean data ---------------------------------------------------------------------------------------------

@pytest.mark.dbt
def test_clean_fixture_stages_every_row(mimic_fixture_warehouse: Path) -> None:
    counts = reconciliation(mimic_fixture_warehouse)
    assert set(counts) == set(TABLES)
    assert all(rejected == 0 and staged == raw for raw, staged, rejected in counts.values())
    with duckdb.connect(str(mimic_fixture_warehouse), read_only=True) as con:
        assert con.execute("select count(*) from data_quality.reject_summary").fetchone()[0] == 0


@pytest.mark.dbt
def test_synthetic_data_stages_every_row(synthetic_warehouse: Path) -> None:
    counts = reconciliation(synthetic_warehouse)
    assert set(counts) == set(TABLES)
    assert {table: rejected for table, (_, _, rejected) in counts.items()} == dict.fromkeys(TABLES, 0)
    assert all(staged == raw for raw, staged, _ in counts.values())
