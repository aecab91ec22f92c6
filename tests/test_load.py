"""The real-data loader (`python -m mimic_loader`) on the hand-made MIMIC-IV fixture."""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import FIXTURE_MIMIC_DIR, load_mimic, run_cli

from generator.schema import RAW_TABLES, TRUTH_SCHEMA, RawTable
from mimic_loader.csv_files import find_source

FIXTURE_ROWS = {
    "mimiciv_hosp.patients": 28,
    "mimiciv_hosp.admissions": 50,
    "mimiciv_hosp.diagnoses_icd": 208,
    "mimiciv_hosp.d_icd_diagnoses": 105,
    "mimiciv_icu.icustays": 7,
}
TABLES = {table.qualified_name: table for table in RAW_TABLES}


# --- helpers shared with test_bad_inputs.py -------------------------------------------------------------

def copy_fixture(destination: Path) -> Path:
    """A private copy of the fixture release folder that a test may damage."""
    shutil.copytree(FIXTURE_MIMIC_DIR, destination, ignore=shutil.ignore_patterns("*.md"))
    return destination


def source_path(mimic_dir: Path, table: RawTable) -> Path:
    return find_source(mimic_dir, table)[0]


def read_text(path: Path) -> str:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as stream:
        return stream.read()


def write_text(path: Path, text: str) -> None:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as stream:
        stream.write(text)


def edit_file(path: Path, edit: Callable[[str], str]) -> None:
    write_text(path, edit(read_text(path)))


def set_field(text: str, line: int, column: str, value: str) -> str:
    """`text` (a whole CSV file) with one field replaced; `line` counts the header as line 1."""
    rows = list(csv.reader(io.StringIO(text)))
    rows[line - 1][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def file_rows(path: Path, table: RawTable) -> pd.DataFrame:
    """The file's data rows as text, exactly as written (empty field = empty string)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig",
                        skip_blank_lines=True)
    return _normalized(frame[table.column_names], table)


def loaded_rows(con: duckdb.DuckDBPyConnection, table: RawTable) -> pd.DataFrame:
    """The raw table's rows rendered back into MIMIC-IV's text format (NULL = empty string)."""
    formats = {"timestamp": "%Y-%m-%d %H:%M:%S", "date": "%Y-%m-%d"}
    renders = []
    for column in table.columns:
        base = column.sql_type.split("(")[0]
        value = (f"strftime({column.name}, '{formats[base]}')" if base in formats
                 else f"cast({column.name} as varchar)")
        renders.append(f"coalesce({value}, '') as {column.name}")
    frame = con.execute(f"select {', '.join(renders)} from {table.qualified_name}").df()
    return _normalized(frame, table)


def _normalized(frame: pd.DataFrame, table: RawTable) -> pd.DataFrame:
    """Rows in a canonical order, doubles compared as numbers (text '2.50' and 2.5 are the same value)."""
    frame = frame.astype(str)
    for column in table.columns:
        if column.sql_type == "double":
            frame[column.name] = pd.to_numeric(frame[column.name].replace("", None)).astype(str)
    return frame.sort_values(table.column_names).reset_index(drop=True)


def assert_raw_tables_match(db: Path, mimic_dir: Path) -> None:
    """Every raw table holds exactly the rows of its file: none dropped, none added, none altered."""
    with duckdb.connect(str(db), read_only=True) as con:
        for table in RAW_TABLES:
            expected = file_rows(source_path(mimic_dir, table), table)
            pd.testing.assert_frame_equal(loaded_rows(con, table), expected, obj=table.qualified_name)


def schema_exists(db: Path, schema: str) -> bool:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select count(*) from information_schema.schemata where schema_name = ?",
                           [schema]).fetchone()[0] > 0


def run_loader(mimic_dir: Path, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli([sys.executable, "-m", "mimic_loader", str(mimic_dir), "--db", str(db), *extra],
                   check=False)


def assert_one_line_error(result: subprocess.CompletedProcess[str], exit_code: int, *fragments: str) -> str:
    """The loader failed with `exit_code` and one `error: ...` line on stderr containing every fragment."""
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# --- fixtures --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def loaded_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture loaded once, read-only for the tests below."""
    db = tmp_path_factory.mktemp("loaded_fixture") / "raw.duckdb"
    load_mimic(FIXTURE_MIMIC_DIR, db)
    return db


# --- loading the fixture ----------------------------------------------------------------------------------

def test_fixture_loads_every_row_exactly(loaded_fixture: Path) -> None:
    assert_raw_tables_match(loaded_fixture, FIXTURE_MIMIC_DIR)


def test_row_counts(loaded_fixture: Path) -> None:
    with duckdb.connect(str(loaded_fixture), read_only=True) as con:
        counts = {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in FIXTURE_ROWS}
    assert counts == FIXTURE_ROWS


def test_exact_types_columns_and_order(loaded_fixture: Path) -> None:
    with duckdb.connect(str(loaded_fixture), read_only=True) as con:
        actual = con.execute("""
            select table_schema || '.' || table_name, column_name, data_type, is_nullable
            from information_schema.columns
            where table_schema in ('mimiciv_hosp', 'mimiciv_icu')
            order by table_schema, table_name, ordinal_position
        """).fetchall()
    expected = [
        (table.qualified_name, column.name, column.sql_type.split("(")[0].upper(),
         "NO" if column.not_null else "YES")
        for table in sorted(RAW_TABLES, key=lambda t: (t.schema, t.name)) for column in table.columns
    ]
    assert actual == expected


def test_values_are_typed_not_text(loaded_fixture: Path) -> None:
    with duckdb.connect(str(loaded_fixture), read_only=True) as con:
        death = con.execute("""
            select deathtime - admittime, hospital_expire_flag + 1, discharge_location
            from mimiciv_hosp.admissions where hadm_id = 20100042
        """).fetchone()
        null_discharge = con.execute(
            "select discharge_location is null from mimiciv_hosp.admissions where hadm_id = 20100171"
        ).fetchone()[0]
        los = con.execute("select sum(los) from mimiciv_icu.icustays where subject_id = 10100008").fetchone()
    assert str(death[0]) == "5 days, 6:02:00"
    assert death[1:] == (2, "DIED")
    assert null_discharge
    assert los[0] == pytest.approx(2.8180555555555555 + 1.6277777777777778)


def test_plain_and_gzip_files_load_the_same_rows(tmp_path: Path, loaded_fixture: Path) -> None:
    plain = copy_fixture(tmp_path / "plain")
    gzipped = copy_fixture(tmp_path / "gzipped")
    for table in RAW_TABLES:
        path = source_path(plain, table)
        if path.name.endswith(".gz"):
            path.with_suffix("").write_text(read_text(path), encoding="utf-8")
            path.unlink()
        path = source_path(gzipped, table)
        if not path.name.endswith(".gz"):
            write_text(path.with_name(path.name + ".gz"), read_text(path))
            path.unlink()
    for folder in (plain, gzipped):
        db = tmp_path / f"{folder.name}.duckdb"
        load_mimic(folder, db)
        assert_raw_tables_match(db, FIXTURE_MIMIC_DIR)


def test_summary_names_every_table(tmp_path: Path) -> None:
    result = load_mimic(FIXTURE_MIMIC_DIR, tmp_path / "raw.duckdb")
    for name, rows in FIXTURE_ROWS.items():
        assert any(name in line and f" {rows} rows" in line for line in result.stdout.splitlines()), name


def test_replaces_raw_tables_drops_truth_and_keeps_other_schemas(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema mimiciv_hosp")
        con.execute(TABLES["mimiciv_hosp.patients"].create_sql())
        con.execute("insert into mimiciv_hosp.patients values (19999999, 'F', 30, 2150, '2017 - 2019', null)")
        con.execute("create table mimiciv_hosp.labevents (labevent_id integer)")
        con.execute(f"create schema {TRUTH_SCHEMA}")
        con.execute(f"create table {TRUTH_SCHEMA}.patient_truth as select 19999999 as subject_id")
        con.execute("create schema marts")
        con.execute("create table marts.patient_features as select 1 as subject_id")
    result = load_mimic(FIXTURE_MIMIC_DIR, db)
    assert TRUTH_SCHEMA in result.stdout
    assert not schema_exists(db, TRUTH_SCHEMA)
    assert_raw_tables_match(db, FIXTURE_MIMIC_DIR)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from marts.patient_features").fetchone()[0] == 1
        assert con.execute("select count(*) from mimiciv_hosp.labevents").fetchone()[0] == 0


def test_loading_twice_replaces_rather_than_appends(tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"
    load_mimic(FIXTURE_MIMIC_DIR, db)
    load_mimic(FIXTURE_MIMIC_DIR, db)
    assert_raw_tables_match(db, FIXTURE_MIMIC_DIR)


def test_failed_load_leaves_previous_data_and_truth_intact(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    load_mimic(FIXTURE_MIMIC_DIR, db)
    with duckdb.connect(str(db)) as con:
        con.execute(f"create schema {TRUTH_SCHEMA}")
    bad = copy_fixture(tmp_path / "bad")
    # The last file is damaged, so the four before it have been staged when the load stops.
    edit_file(source_path(bad, TABLES["mimiciv_icu.icustays"]),
              lambda text: set_field(text, 4, "los", "two days"))
    edit_file(source_path(bad, TABLES["mimiciv_hosp.patients"]),
              lambda text: text + "10100099,M,40,2150,2017 - 2019,\n")
    result = run_loader(bad, db)
    assert_one_line_error(result, 1, "icu/icustays.csv line 4, column los: 'two days' is not a number")
    assert_raw_tables_match(db, FIXTURE_MIMIC_DIR)
    assert schema_exists(db, TRUTH_SCHEMA)


# --- errors ------------------------------------------------------------------------------------------------

def test_missing_file(tmp_path: Path) -> None:
    mimic = copy_fixture(tmp_path / "mimic")
    (mimic / "icu" / "icustays.csv").unlink()
    result = run_loader(mimic, tmp_path / "raw.duckdb")
    assert_one_line_error(result, 1, "icu/icustays.csv.gz not found", "icu/icustays.csv)")


def test_missing_column(tmp_path: Path) -> None:
    mimic = copy_fixture(tmp_path / "mimic")
    path = source_path(mimic, TABLES["mimiciv_hosp.admissions"])
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.drop(columns="race").to_csv(path, index=False)
    result = run_loader(mimic, tmp_path / "raw.duckdb")
    assert_one_line_error(result, 1, "hosp/admissions.csv line 1: missing column race")


def test_renamed_column(tmp_path: Path) -> None:
    mimic = copy_fixture(tmp_path / "mimic")
    edit_file(source_path(mimic, TABLES["mimiciv_hosp.admissions"]),
              lambda text: text.replace(",race,", ",ethnicity,", 1))
    result = run_loader(mimic, tmp_path / "raw.duckdb")
    assert_one_line_error(result, 1, "hosp/admissions.csv line 1: column race is missing", "'ethnicity'")


def test_extra_column(tmp_path: Path) -> None:
    mimic = copy_fixture(tmp_path / "mimic")
    path = source_path(mimic, TABLES["mimiciv_hosp.diagnoses_icd"])
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.assign(note="").to_csv(path, index=False)
    result = run_loader(mimic, tmp_path / "raw.duckdb")
    assert_one_line_error(result, 1, "hosp/diagnoses_icd.csv.gz line 1: unexpected column 'note'")


def test_value_that_does_not_fit_its_type(tmp_path: Path) -> None:
    mimic = copy_fixture(tmp_path / "mimic")
    edit_file(source_path(mimic, TABLES["mimiciv_hosp.admissions"]),
              lambda text: set_field(text, 17, "admittime", "2180-13-45 10:00:00"))
    result = run_loader(mimic, tmp_path / "raw.duckdb")
    message = assert_one_line_error(result, 1)
    assert message == ("error: hosp/admissions.csv line 17, column admittime: '2180-13-45 10:00:00' "
                       "is not a timestamp (expected YYYY-MM-DD HH:MM:SS)")


def test_nonexistent_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = run_loader(tmp_path / "no-such-release", tmp_path / "raw.duckdb")
    assert_one_line_error(result, 2, "no-such-release", "is not a directory")
    assert not (tmp_path / "raw.duckdb").exists()


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = run_loader(FIXTURE_MIMIC_DIR, tmp_path / "raw.duckdb", "--patients", "10")
    assert_one_line_error(result, 2, "unrecognized arguments: --patients 10")


def test_missing_warehouse_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = run_loader(FIXTURE_MIMIC_DIR, tmp_path / "no-such-folder" / "raw.duckdb")
    assert_one_line_error(result, 2, "no-such-folder")
