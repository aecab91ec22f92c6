"""Bad inputs for the real-data loader: each case is the fixture with one fault.

Every case ends one of two ways, decided by what a user would expect:

- **error**: the file cannot be read as MIMIC-IV (layout, encoding, a value that does not fit its type).
  The loader exits 1 with one `error: ...` line naming the file and, where there is one, the line and column;
  the warehouse's previous raw tables stay exactly as they were.
- **loads**: the file is well-formed and every value fits its type, but a row is wrong in a way only the
  data model can judge (duplicates, a dotted or lower-case code, formula text, an impossible date order).
  Every raw row must then be in the raw tables exactly as written; the dbt models report such rows.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURE_MIMIC_DIR, generate, load_mimic
from test_load import (
    FIXTURE_ROWS,
    TABLES,
    assert_raw_tables_match,
    copy_fixture,
    edit_file,
    read_text,
    set_field,
    source_path,
)

from mimic_loader.load import main

Damage = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    name: str
    damage: Damage
    # Fragments of the expected error line; empty when the damaged folder must load.
    error: tuple[str, ...] = ()


def _path(mimic_dir: Path, table: str) -> Path:
    return source_path(mimic_dir, TABLES[table])


def with_field(table: str, line: int, column: str, value: str) -> Damage:
    return with_text(table, lambda text: set_field(text, line, column, value))


def with_text(table: str, edit: Callable[[str], str]) -> Damage:
    return lambda mimic_dir: edit_file(_path(mimic_dir, table), edit)


def with_bytes(table: str, edit: Callable[[bytes], bytes]) -> Damage:
    """Rewrite the file's (uncompressed) bytes, keeping its compression."""
    def damage(mimic_dir: Path) -> None:
        path = _path(mimic_dir, table)
        if path.name.endswith(".gz"):
            path.write_bytes(gzip.compress(edit(gzip.decompress(path.read_bytes()))))
        else:
            path.write_bytes(edit(path.read_bytes()))
    return damage


def with_columns(table: str, edit: Callable[[list[list[str]]], list[list[str]]]) -> Damage:
    """Rewrite a file without quoted commas column-wise: `edit` gets and returns the columns, header first."""
    def edit_text(text: str) -> str:
        rows = [line.split(",") for line in text.splitlines()]
        columns = [list(column) for column in zip(*rows, strict=True)]
        return "".join(",".join(row) + "\n" for row in zip(*edit(columns), strict=True))
    return with_text(table, edit_text)


def header_only(text: str) -> str:
    return text.split("\n", 1)[0] + "\n"


def blank_line_after(text: str, line: int, blank: str = "") -> str:
    """`text` with a blank (or `blank`-only) line inserted after its line `line`."""
    lines = text.splitlines(True)
    return "".join([*lines[:line], blank + "\n", *lines[line:]])


def removed(table: str) -> Damage:
    return lambda mimic_dir: _path(mimic_dir, table).unlink()


def latin1_title(line: int, title: str) -> Damage:
    def damage(mimic_dir: Path) -> None:
        path = _path(mimic_dir, "mimiciv_hosp.d_icd_diagnoses")
        path.write_bytes(set_field(read_text(path), line, "long_title", title).encode("latin-1"))
    return damage


def truncated_gzip(mimic_dir: Path) -> None:
    path = _path(mimic_dir, "mimiciv_hosp.diagnoses_icd")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def plain_text_named_gz(mimic_dir: Path) -> None:
    path = _path(mimic_dir, "mimiciv_hosp.diagnoses_icd")
    path.write_text(read_text(path), encoding="utf-8")


def both_plain_and_gz(mimic_dir: Path) -> None:
    path = _path(mimic_dir, "mimiciv_hosp.patients")
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))


def swap_columns(first: int, second: int) -> Callable[[list[list[str]]], list[list[str]]]:
    def edit(columns: list[list[str]]) -> list[list[str]]:
        columns[first], columns[second] = columns[second], columns[first]
        return columns
    return edit


def header_replaced(table: str, old: str, new: str) -> Damage:
    def edit(text: str) -> str:
        header, rest = text.split("\n", 1)
        return header.replace(old, new) + "\n" + rest
    return with_text(table, edit)


PATIENTS = "mimiciv_hosp.patients"
ADMISSIONS = "mimiciv_hosp.admissions"
DIAGNOSES = "mimiciv_hosp.diagnoses_icd"
DICTIONARY = "mimiciv_hosp.d_icd_diagnoses"
ICUSTAYS = "mimiciv_icu.icustays"

ERROR_CASES = [
    # layout
    Case("missing file", removed(DICTIONARY), ("hosp/d_icd_diagnoses.csv.gz not found",)),
    Case("both .csv and .csv.gz of one table", both_plain_and_gz,
         ("both hosp/patients.csv.gz and hosp/patients.csv exist",)),
    Case("missing column", with_columns(PATIENTS, lambda columns: columns[:4] + columns[5:]),
         ("hosp/patients.csv line 1: missing column anchor_year_group",)),
    Case("extra column", with_columns(ICUSTAYS, lambda columns: [*columns, ["comment"] + [""] * 7]),
         ("icu/icustays.csv line 1: unexpected column 'comment'",)),
    Case("renamed column", header_replaced(DIAGNOSES, "icd_code", "icd9_code"),
         ("hosp/diagnoses_icd.csv.gz line 1: column icd_code is missing", "'icd9_code'")),
    Case("upper-case header", header_replaced(PATIENTS, "subject_id", "SUBJECT_ID"),
         ("hosp/patients.csv line 1: column subject_id is missing", "'SUBJECT_ID'")),
    Case("columns out of order", with_columns(ADMISSIONS, swap_columns(2, 3)),
         ("hosp/admissions.csv line 1: the columns are out of order",)),
    Case("semicolon delimiter", with_text(PATIENTS, lambda text: text.replace(",", ";")),
         ("hosp/patients.csv line 1: the header is separated by semicolons",)),
    Case("tab delimiter", with_text(DIAGNOSES, lambda text: text.replace(",", "\t")),
         ("hosp/diagnoses_icd.csv.gz line 1: the header is separated by tabs",)),
    Case("empty file (0 bytes)", with_bytes(ICUSTAYS, lambda _: b""),
         ("icu/icustays.csv line 1: no header line",)),
    Case("blank line before the header", with_text(PATIENTS, lambda text: "\n" + text),
         ("hosp/patients.csv line 1: no header line",)),
    # encoding and compression
    Case("truncated gzip", truncated_gzip, ("hosp/diagnoses_icd.csv.gz cannot be read",)),
    Case("plain text named .csv.gz", plain_text_named_gz, ("hosp/diagnoses_icd.csv.gz cannot be read",)),
    Case("latin-1 bytes in a title", latin1_title(16, "Démence sénile, non compliquée"),
         ("hosp/d_icd_diagnoses.csv line 16, column long_title: not valid UTF-8",)),
    # rows that cannot be split into the header's fields
    Case("comma in an unquoted title", with_text(DICTIONARY, lambda text: text.replace(
        '"Anemia, unspecified"', "Anemia, unspecified", 1)),
         ("hosp/d_icd_diagnoses.csv line 15: more fields than the header's 3 columns",)),
    Case("row with a field missing", with_text(ADMISSIONS, lambda text: text.replace(",0\n", "\n", 4)),
         ("hosp/admissions.csv line 2: fewer fields than the header's 16 columns",)),
    Case("quote never closed", with_text(DICTIONARY, lambda text: text.replace(
        "\nZ66,10,Do not resuscitate", '\nZ66,10,"Do not resuscitate')),
         ("hosp/d_icd_diagnoses.csv line 104, column long_title: a quoted value that is never closed",)),
    # values that do not fit their type
    Case("text in a numeric column", with_field(PATIENTS, 5, "anchor_age", "unknown"),
         ("hosp/patients.csv line 5, column anchor_age: 'unknown' is not a whole number",)),
    Case("decimal in an integer column", with_field(DIAGNOSES, 3, "seq_num", "1.5"),
         ("hosp/diagnoses_icd.csv.gz line 3, column seq_num: '1.5' is not a whole number",)),
    Case("integer out of range", with_field(PATIENTS, 2, "anchor_age", "40000"),
         ("hosp/patients.csv line 2, column anchor_age: '40000' is not a whole number from -32768 to 32767",
          "(smallint)")),
    Case("number padded with blanks", with_field(ICUSTAYS, 2, "stay_id", " 30100041"),
         ("icu/icustays.csv line 2, column stay_id: ' 30100041' is not a whole number",)),
    Case("unparsable timestamp", with_field(ADMISSIONS, 4, "admittime", "yesterday"),
         ("hosp/admissions.csv line 4, column admittime: 'yesterday' is not a timestamp",)),
    Case("impossible timestamp (month 13)", with_field(ADMISSIONS, 17, "admittime", "2180-13-45 10:00:00"),
         ("hosp/admissions.csv line 17, column admittime: '2180-13-45 10:00:00' is not a timestamp",)),
    Case("impossible date (Feb 30)", with_field(PATIENTS, 5, "dod", "2142-02-30"),
         ("hosp/patients.csv line 5, column dod: '2142-02-30' is not a date (expected YYYY-MM-DD)",)),
    Case("ISO 8601 'T' timestamp", with_field(ICUSTAYS, 3, "intime", "2168-11-02T18:32:00"),
         ("icu/icustays.csv line 3, column intime: '2168-11-02T18:32:00' is not a timestamp",)),
    Case("date where a timestamp belongs", with_field(ADMISSIONS, 9, "dischtime", "2155-03-09"),
         ("hosp/admissions.csv line 9, column dischtime: '2155-03-09' is not a timestamp",)),
    Case("empty required field", with_field(ADMISSIONS, 3, "admittime", ""),
         ("hosp/admissions.csv line 3, column admittime: is empty but required",)),
    Case("value longer than its varchar", with_field(PATIENTS, 2, "gender", "Male"),
         ("hosp/patients.csv line 2, column gender: 'Male' is longer than 1 character (varchar(1))",)),
    Case("ICD code longer than 7 characters", with_field(DIAGNOSES, 2, "icd_code", "I5023XXX"),
         ("hosp/diagnoses_icd.csv.gz line 2, column icd_code: 'I5023XXX' is longer than 7 characters",)),
    # line endings, and the line a message names
    Case("CR-only line endings (old Mac)", with_text(PATIENTS, lambda text: text.replace("\n", "\r")),
         ("hosp/patients.csv line 1: the line ends in a carriage return alone",)),
    Case("CR-only line endings after the header", with_text(ADMISSIONS, lambda text: text.replace(
        "\n", "\r").replace("\r", "\n", 1)),
         ("hosp/admissions.csv line 2: the line ends in a carriage return alone",)),
    Case("bad value after a blank line", with_text(PATIENTS, lambda text: blank_line_after(
        set_field(text, 5, "anchor_age", "unknown"), 3)),
         ("hosp/patients.csv line 6, column anchor_age: 'unknown' is not a whole number",)),
    Case("bad value after several blank lines in a CRLF file", with_text(ICUSTAYS, lambda text: (
        blank_line_after(blank_line_after(set_field(text, 6, "los", "long"), 2), 2).replace("\n", "\r\n"))),
         ("icu/icustays.csv line 8, column los: 'long' is not a number",)),
    Case("bad value after a quoted line break", with_text(DICTIONARY, lambda text: set_field(
        set_field(text, 7, "long_title", "Secondary neoplasm\nof bone"), 20, "icd_version", "ten")),
         ("hosp/d_icd_diagnoses.csv line 21, column icd_version: 'ten' is not a whole number",)),
    Case("fewer fields after a blank line", with_text(ADMISSIONS, lambda text: blank_line_after(
        text.replace(",0\n", "\n", 4), 1)),
         ("hosp/admissions.csv line 3: fewer fields than the header's 16 columns",)),
    Case("a line of blanks", with_text(PATIENTS, lambda text: blank_line_after(text, 4, "   ")),
         ("hosp/patients.csv line 5: fewer fields than the header's 6 columns",)),
    # NUL bytes
    Case("NUL byte inside a title", with_field(DICTIONARY, 16, "long_title", "Senile\x00 dementia"),
         ("hosp/d_icd_diagnoses.csv line 16, column long_title: 'Senile\\x00 dementia' holds a NUL byte",)),
    Case("NUL byte inside a code", with_field(DIAGNOSES, 4, "icd_code", "I10\x00"),
         ("hosp/diagnoses_icd.csv.gz line 4, column icd_code: 'I10\\x00' holds a NUL byte",)),
    Case("NUL byte inside a care unit", with_field(ICUSTAYS, 3, "first_careunit", "\x00"),
         ("icu/icustays.csv line 3, column first_careunit: '\\x00' holds a NUL byte",)),
    Case("NUL byte inside a number", with_field(PATIENTS, 3, "anchor_year", "21\x0050"),
         ("hosp/patients.csv line 3, column anchor_year: '21\\x0050' holds a NUL byte",)),
    # files that would lose rows the warehouse holds
    Case("header-only file over loaded ICU stays", with_text(ICUSTAYS, header_only),
         ("icu/icustays.csv has no rows and would empty mimiciv_icu.icustays (7 rows)", "--allow-shrink")),
    Case("file cut to half its rows", with_text(ADMISSIONS, lambda text: "".join(text.splitlines(True)[:26])),
         ("hosp/admissions.csv has 25 rows where mimiciv_hosp.admissions holds 50 (50% fewer)",
          "nothing was changed")),
    Case("two files emptied", lambda mimic_dir: [with_text(table, header_only)(mimic_dir)
                                                 for table in (PATIENTS, ICUSTAYS)],
         ("hosp/patients.csv has no rows and would empty mimiciv_hosp.patients (28 rows);",
          "icu/icustays.csv has no rows")),
    Case("gzip file holding nothing", with_bytes(DIAGNOSES, lambda _: b""),
         ("hosp/diagnoses_icd.csv.gz line 1: no header line",)),
    Case("a column named twice", header_replaced(PATIENTS, "gender", "subject_id"),
         ("hosp/patients.csv line 1: missing column gender",)),
]

LOAD_CASES = [
    Case("blank lines between records", with_text(PATIENTS, lambda text: blank_line_after(
        blank_line_after(text, 10), 3))),
    Case("quoted field with a Windows line break",
         with_field(DICTIONARY, 9, "long_title", "Heart\r\nfailure")),
    Case("duplicated rows", with_text(DIAGNOSES, lambda text: text + "".join(text.splitlines(True)[1:6]))),
    Case("Windows line endings (CRLF)", with_text(ADMISSIONS, lambda text: text.replace("\n", "\r\n"))),
    Case("UTF-8 byte order mark", with_bytes(PATIENTS, lambda data: b"\xef\xbb\xbf" + data)),
    Case("trailing empty lines", with_text(ICUSTAYS, lambda text: text + "\n\n\n")),
    Case("header only", with_text(ICUSTAYS, header_only)),
    Case("ICD code with a dot", with_field(DIAGNOSES, 6, "icd_code", "428.0")),
    Case("lower-case ICD code", with_field(DIAGNOSES, 11, "icd_code", "i5023")),
    Case("code missing from the dictionary", with_field(DIAGNOSES, 12, "icd_code", "XYZ123")),
    Case("spreadsheet formula in a text column",
         with_field(ADMISSIONS, 2, "race", '=HYPERLINK("http://example.com","WHITE")')),
    Case("quoted field with commas and doubled quotes",
         with_field(DICTIONARY, 5, "long_title", 'Malignant neoplasm of liver, "secondary", NOS')),
    Case("quoted field with a line break",
         with_field(DICTIONARY, 7, "long_title", "Secondary neoplasm\nof bone")),
    Case("non-ASCII UTF-8 text", with_field(DICTIONARY, 16, "long_title", "Démence sénile, non compliquée")),
    Case("quote inside an unquoted value", with_text(ADMISSIONS, lambda text: text.replace(
        ",WHITE,", ',WHITE "OTHER",', 1))),
    Case("quoted empty field",
         with_text(ADMISSIONS, lambda text: text.replace(",,EW EMER.", ',"",EW EMER.', 1))),
    Case("quoted numbers", with_text(PATIENTS, lambda text: text.replace("10100001,", '"10100001",', 1))),
    Case("discharge before admission", with_field(ADMISSIONS, 3, "dischtime", "2130-03-01 00:00:00")),
    Case("negative ICU length of stay", with_field(ICUSTAYS, 2, "los", "-0.5")),
    Case("admission of an unknown patient", with_field(ADMISSIONS, 2, "subject_id", "19999999")),
]


@pytest.fixture(scope="module")
def previous_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse already holding the fixture, as before a user's second load."""
    db = tmp_path_factory.mktemp("previous") / "warehouse.duckdb"
    load_mimic(FIXTURE_MIMIC_DIR, db)
    return db


def _damaged_copy(tmp_path: Path, case: Case) -> Path:
    mimic_dir = copy_fixture(tmp_path / "mimic")
    case.damage(mimic_dir)
    return mimic_dir


@pytest.mark.parametrize("case", ERROR_CASES, ids=[case.name for case in ERROR_CASES])
def test_bad_input_stops_the_load(case: Case, tmp_path: Path, previous_warehouse: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    mimic_dir = _damaged_copy(tmp_path, case)
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(previous_warehouse, db)
    exit_code = main([str(mimic_dir), "--db", str(db)])
    captured = capsys.readouterr()
    assert exit_code == 1
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    for fragment in case.error:
        assert fragment in lines[0]
    assert_raw_tables_match(db, FIXTURE_MIMIC_DIR)


@pytest.mark.parametrize("case", LOAD_CASES, ids=[case.name for case in LOAD_CASES])
def test_row_level_fault_loads_every_row_as_given(case: Case, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    mimic_dir = _damaged_copy(tmp_path, case)
    db = tmp_path / "warehouse.duckdb"
    exit_code = main([str(mimic_dir), "--db", str(db)])
    assert exit_code == 0, capsys.readouterr().err
    assert_raw_tables_match(db, mimic_dir)


# Files that hold fewer rows than the warehouse: refused above unless the loss is small or allowed explicitly.
SHRINK_CASES = [
    (Case("header-only file, with --allow-shrink", with_text(ICUSTAYS, header_only)), ["--allow-shrink"]),
    (Case("file cut to half its rows, with --allow-shrink", with_text(ADMISSIONS, lambda text: "".join(
        text.splitlines(True)[:24]))), ["--allow-shrink"]),
    (Case("a table a fifth smaller", with_text(DIAGNOSES, lambda text: "".join(text.splitlines(True)[:157]))),
     []),
]


@pytest.mark.parametrize(("case", "flags"), SHRINK_CASES, ids=[case.name for case, _ in SHRINK_CASES])
def test_smaller_files_load_when_allowed(case: Case, flags: list[str], tmp_path: Path,
                                         previous_warehouse: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    mimic_dir = _damaged_copy(tmp_path, case)
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(previous_warehouse, db)
    assert main([str(mimic_dir), "--db", str(db), *flags]) == 0, capsys.readouterr().err
    assert_raw_tables_match(db, mimic_dir)


def test_real_data_may_replace_a_larger_synthetic_population(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "warehouse.duckdb"
    generate(db, patients=200, seed=3)
    assert main([str(FIXTURE_MIMIC_DIR), "--db", str(db)]) == 0, capsys.readouterr().err
    assert_raw_tables_match(db, FIXTURE_MIMIC_DIR)


def test_a_full_disk_is_reported_as_such_and_loses_nothing(tmp_path: Path, previous_warehouse: Path) -> None:
    """The disk fills up while the new tables are written: a real write failure, made without root by capping
    the size of any file the loader writes (RLIMIT_FSIZE) just above the warehouse's present size."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(previous_warehouse, db)
    bigger = tmp_path / "bigger"
    generate(tmp_path / "source.duckdb", patients=2000, seed=5, extra=["--csv-dir", str(bigger)])
    limit = db.stat().st_size + 100_000

    def cap_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run([sys.executable, "-m", "mimic_loader", str(bigger), "--db", str(db)],
                            capture_output=True, text=True, preexec_fn=cap_file_size, check=False)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "nothing was changed" in lines[0] and "File too large" in lines[0]
    assert "cannot rollback" not in lines[0]
    assert_raw_tables_match(db, FIXTURE_MIMIC_DIR)


def test_each_load_is_recorded_with_its_files(tmp_path: Path, previous_warehouse: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(previous_warehouse, db)
    load_mimic(FIXTURE_MIMIC_DIR, db)
    with duckdb.connect(str(db), read_only=True) as con:
        loads = con.execute(
            "select source, details from pipeline_log.raw_loads order by loaded_at").fetchall()
    assert [source for source, _ in loads] == ["mimic-iv files", "mimic-iv files"]
    details = json.loads(loads[-1][1])
    assert details["folder"] == str(FIXTURE_MIMIC_DIR)
    files = {item["table"]: item for item in details["files"]}
    for name, table in TABLES.items():
        path = source_path(FIXTURE_MIMIC_DIR, table)
        assert files[name]["file"] == path.relative_to(FIXTURE_MIMIC_DIR).as_posix()
        assert files[name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert files[name]["bytes"] == path.stat().st_size
    assert {name: item["rows"] for name, item in files.items()} == FIXTURE_ROWS


# --- row-level faults for the data model --------------------------------------------------------------------
# Each case below loads (every value fits its type) and then reaches dbt, which must reject exactly the faulty
# rows with the expected reason, and stage everything else. The cases touch distinct rows so that all of them
# can be checked in one build (tests/test_rejects.py); rows are found by key, not by line.

@dataclass(frozen=True)
class Reject:
    """One row expected in data_quality.raw_row_rejects."""

    source_table: str
    row_key: str
    reason: str


@dataclass(frozen=True)
class RowFault:
    name: str
    damage: Damage
    # The fault's own rejected rows.
    rejects: tuple[Reject, ...] = ()
    # Admissions whose fixture diagnoses and ICU stays must all be rejected as parent_admission_rejected.
    rejected_admissions: tuple[int, ...] = ()
    # (staging view, condition) pairs that must each match exactly one staged row.
    staged: tuple[tuple[str, str], ...] = ()


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _matching_row(rows: list[list[str]], key: dict[str, str]) -> int:
    """Index of the one data row whose key columns hold `key`."""
    header = rows[0]
    found = [index for index, row in enumerate(rows[1:], start=1)
             if all(row[header.index(column)] == value for column, value in key.items())]
    if len(found) != 1:
        raise ValueError(f"{len(found)} rows match {key}")
    return found[0]


def _with_values(header: list[str], row: list[str], changes: dict[str, str]) -> list[str]:
    return [changes.get(column, value) for column, value in zip(header, row, strict=True)]


def row_changed(table: str, key: dict[str, str], **changes: str) -> Damage:
    def edit(text: str) -> str:
        rows = _csv_rows(text)
        index = _matching_row(rows, key)
        rows[index] = _with_values(rows[0], rows[index], changes)
        return _csv_text(rows)
    return with_text(table, edit)


def row_copied(table: str, key: dict[str, str], **changes: str) -> Damage:
    """A copy of the row appended at the end of the file, with `changes` applied to the copy."""
    def edit(text: str) -> str:
        rows = _csv_rows(text)
        return _csv_text([*rows, _with_values(rows[0], rows[_matching_row(rows, key)], changes)])
    return with_text(table, edit)


def row_added(table: str, **values: str) -> Damage:
    def edit(text: str) -> str:
        rows = _csv_rows(text)
        return _csv_text([*rows, [values.get(column, "") for column in rows[0]]])
    return with_text(table, edit)


def diagnosis_key(hadm_id: int, seq_num: int, icd_code: str | None, icd_version: int) -> str:
    code = "NULL" if icd_code is None else icd_code
    return f"hadm_id={hadm_id}, seq_num={seq_num}, icd_code={code}, icd_version={icd_version}"


# Issue 12's example: one discharge on this date moved the population's average length of stay by thousands
# of days.
SENTINEL_DISCHTIME = "9999-12-31 00:00:00"
# Stay 30100191 starting 8 hours before its admission, its los moved with intime as MIMIC-IV computes it.
STAY_30100191_FROM_8_HOURS_EARLY = {"intime": "2158-12-27 06:00:00", "los": "3.3958333333333335"}

ROW_FAULTS = [
    # patients
    RowFault("negative anchor_age", row_changed(PATIENTS, {"subject_id": "10100025"}, anchor_age="-1"),
             (Reject(PATIENTS, "subject_id=10100025", "impossible_anchor_age"),
              Reject(ADMISSIONS, "hadm_id=20100251", "parent_patient_rejected")),
             rejected_admissions=(20100251,)),
    RowFault("anchor_age above 91, for a patient with an ICU stay",
             row_changed(PATIENTS, {"subject_id": "10100004"}, anchor_age="200"),
             (Reject(PATIENTS, "subject_id=10100004", "impossible_anchor_age"),
              Reject(ADMISSIONS, "hadm_id=20100041", "parent_patient_rejected"),
              Reject(ADMISSIONS, "hadm_id=20100042", "parent_patient_rejected")),
             rejected_admissions=(20100041, 20100042)),
    RowFault("anchor_year_group without blanks",
             row_changed(PATIENTS, {"subject_id": "10100026"}, anchor_year_group="2014-2016"),
             (Reject(PATIENTS, "subject_id=10100026", "invalid_anchor_year_group"),)),
    RowFault("patient row repeated", row_copied(PATIENTS, {"subject_id": "10100003"}),
             (Reject(PATIENTS, "subject_id=10100003", "duplicate_row"),),
             staged=(("stg_mimic__patients", "subject_id = 10100003"),)),
    RowFault("patient key repeated with another age",
             row_copied(PATIENTS, {"subject_id": "10100006"}, anchor_age="68"),
             (Reject(PATIENTS, "subject_id=10100006", "duplicate_key"),),
             staged=(("stg_mimic__patients", "subject_id = 10100006 and anchor_age = 67"),)),
    RowFault("anchor_year not shifted (a real year)",
             row_changed(PATIENTS, {"subject_id": "10100013"}, anchor_year="2016"),
             (Reject(PATIENTS, "subject_id=10100013", "implausible_anchor_year"),
              Reject(ADMISSIONS, "hadm_id=20100131", "parent_patient_rejected"),
              Reject(ADMISSIONS, "hadm_id=20100132", "parent_patient_rejected")),
             rejected_admissions=(20100131, 20100132)),
    RowFault("dod written as the sentinel 9999-12-31",
             row_changed(PATIENTS, {"subject_id": "10100012"}, dod="9999-12-31"),
             (Reject(PATIENTS, "subject_id=10100012", "dod_outside_patient_years"),
              Reject(ADMISSIONS, "hadm_id=20100121", "parent_patient_rejected")),
             rejected_admissions=(20100121,)),
    # admissions
    RowFault("admission decades before the patient's birth",
             row_changed(ADMISSIONS, {"hadm_id": "20100231"}, admittime="2170-04-18 16:05:00"),
             (Reject(ADMISSIONS, "hadm_id=20100231", "negative_age_at_admission"),),
             rejected_admissions=(20100231,)),
    RowFault("discharge before admission",
             row_changed(ADMISSIONS, {"hadm_id": "20100101"}, dischtime="2133-08-01 00:00:00"),
             (Reject(ADMISSIONS, "hadm_id=20100101", "discharge_before_admission"),),
             rejected_admissions=(20100101,)),
    RowFault("admission of an unknown patient",
             row_changed(ADMISSIONS, {"hadm_id": "20100181"}, subject_id="19999999"),
             (Reject(ADMISSIONS, "hadm_id=20100181", "orphan_subject_id"),),
             rejected_admissions=(20100181,)),
    RowFault("admission row repeated", row_copied(ADMISSIONS, {"hadm_id": "20100112"}),
             (Reject(ADMISSIONS, "hadm_id=20100112", "duplicate_row"),),
             staged=(("stg_mimic__admissions", "hadm_id = 20100112"),)),
    RowFault("admission key repeated with another provider",
             row_copied(ADMISSIONS, {"hadm_id": "20100222"}, admit_provider_id="PZZZZZ"),
             (Reject(ADMISSIONS, "hadm_id=20100222", "duplicate_key"),),
             staged=(("stg_mimic__admissions", "hadm_id = 20100222 and admit_provider_id = 'P5WQ8N'"),)),
    RowFault("admission without dischtime", row_changed(ADMISSIONS, {"hadm_id": "20100092"}, dischtime=""),
             (Reject(ADMISSIONS, "hadm_id=20100092", "missing_required_value"),),
             rejected_admissions=(20100092,)),
    RowFault("hospital_expire_flag 2",
             row_changed(ADMISSIONS, {"hadm_id": "20100013"}, hospital_expire_flag="2"),
             (Reject(ADMISSIONS, "hadm_id=20100013", "invalid_hospital_expire_flag"),),
             rejected_admissions=(20100013,)),
    RowFault("discharge on the sentinel date 9999-12-31",
             row_changed(ADMISSIONS, {"hadm_id": "20100011"}, dischtime=SENTINEL_DISCHTIME),
             (Reject(ADMISSIONS, "hadm_id=20100011", "timestamp_outside_patient_years"),),
             rejected_admissions=(20100011,)),
    RowFault("admission of 479 days (beyond max_length_of_stay_days)",
             row_changed(ADMISSIONS, {"hadm_id": "20100151"}, dischtime="2164-06-01 13:00:00"),
             (Reject(ADMISSIONS, "hadm_id=20100151", "length_of_stay_too_long"),),
             rejected_admissions=(20100151,)),
    RowFault("admission of 301 days (within max_length_of_stay_days)",
             row_changed(ADMISSIONS, {"hadm_id": "20100152"}, dischtime="2168-09-16 12:00:00"),
             staged=(("stg_mimic__admissions", "hadm_id = 20100152 and dischtime = '2168-09-16 12:00:00'"),)),
    RowFault("admission starting months after the patient's dod",
             row_added(ADMISSIONS, subject_id="10100027", hadm_id="20100272", admittime="2150-06-01 10:00:00",
                       dischtime="2150-06-05 12:00:00", admission_type="URGENT", hospital_expire_flag="0"),
             (Reject(ADMISSIONS, "hadm_id=20100272", "admission_after_death"),)),
    RowFault("admission on the day of the patient's dod (dod is a date)",
             row_added(ADMISSIONS, subject_id="10100005", hadm_id="20100053", admittime="2156-01-20 02:00:00",
                       dischtime="2156-01-20 09:00:00", admission_type="EW EMER.",
                       discharge_location="HOSPICE", hospital_expire_flag="0"),
             staged=(("stg_mimic__admissions", "hadm_id = 20100053"),)),
    RowFault("death the day before the admission",
             row_changed(ADMISSIONS, {"hadm_id": "20100223"}, deathtime="2185-04-16 10:00:00"),
             (Reject(ADMISSIONS, "hadm_id=20100223", "death_before_admission"),),
             rejected_admissions=(20100223,)),
    RowFault("ED departure before ED registration",
             row_changed(ADMISSIONS, {"hadm_id": "20100224"}, edouttime="2185-08-18 05:15:00"),
             (Reject(ADMISSIONS, "hadm_id=20100224", "ed_out_before_registration"),),
             rejected_admissions=(20100224,)),
    RowFault("spreadsheet formula in a text column",
             row_changed(ADMISSIONS, {"hadm_id": "20100022"}, race='=HYPERLINK("http://example.com","WHITE")'),
             staged=(("stg_mimic__admissions", "hadm_id = 20100022 and race like '=HYPERLINK(%'"),)),
    # diagnoses
    RowFault("ICD code with a dot",
             row_changed(DIAGNOSES, {"hadm_id": "20100161", "seq_num": "1"}, icd_code="428.0"),
             staged=(("stg_mimic__diagnoses_icd",
                      "hadm_id = 20100161 and seq_num = 1 and icd_code = '4280'"),)),
    RowFault("lower-case ICD code",
             row_changed(DIAGNOSES, {"hadm_id": "20100241", "seq_num": "1"}, icd_code="i5023"),
             staged=(("stg_mimic__diagnoses_icd",
                      "hadm_id = 20100241 and seq_num = 1 and icd_code = 'I5023'"),)),
    RowFault("code missing from the dictionary",
             row_changed(DIAGNOSES, {"hadm_id": "20100171", "seq_num": "1"}, icd_code="XYZ123"),
             (Reject(DIAGNOSES, diagnosis_key(20100171, 1, "XYZ123", 10), "unknown_icd_code"),)),
    RowFault("ICD version 11",
             row_changed(DIAGNOSES, {"hadm_id": "20100221", "seq_num": "4"}, icd_version="11"),
             (Reject(DIAGNOSES, diagnosis_key(20100221, 4, "I10", 11), "invalid_icd_version"),)),
    RowFault("diagnosis of an unknown admission",
             row_changed(DIAGNOSES, {"hadm_id": "20100201", "seq_num": "2"}, hadm_id="29999999"),
             (Reject(DIAGNOSES, diagnosis_key(29999999, 2, "B20", 10), "orphan_hadm_id"),)),
    RowFault("diagnosis under another patient than its admission",
             row_changed(DIAGNOSES, {"hadm_id": "20100141", "seq_num": "1"}, subject_id="10100013"),
             (Reject(DIAGNOSES, diagnosis_key(20100141, 1, "1985", 9), "patient_mismatch"),)),
    RowFault("diagnosis row repeated", row_copied(DIAGNOSES, {"hadm_id": "20100111", "seq_num": "1"}),
             (Reject(DIAGNOSES, diagnosis_key(20100111, 1, "6827", 9), "duplicate_row"),),
             staged=(("stg_mimic__diagnoses_icd", "hadm_id = 20100111 and seq_num = 1"),)),
    RowFault("seq_num 0", row_changed(DIAGNOSES, {"hadm_id": "20100191", "seq_num": "6"}, seq_num="0"),
             (Reject(DIAGNOSES, diagnosis_key(20100191, 0, "2859", 9), "invalid_seq_num"),)),
    RowFault("diagnosis without a code",
             row_changed(DIAGNOSES, {"hadm_id": "20100081", "seq_num": "6"}, icd_code=""),
             (Reject(DIAGNOSES, diagnosis_key(20100081, 6, None, 10), "missing_required_value"),)),
    # the code dictionary
    RowFault("dictionary entry repeated in lower case",
             row_copied(DICTIONARY, {"icd_code": "E119", "icd_version": "10"}, icd_code="e119"),
             (Reject(DICTIONARY, "icd_code=E119, icd_version=10", "duplicate_key"),),
             staged=(("stg_mimic__d_icd_diagnoses", "icd_code = 'E119' and icd_version = 10"),)),
    RowFault("dictionary row repeated", row_copied(DICTIONARY, {"icd_code": "I5020", "icd_version": "10"}),
             (Reject(DICTIONARY, "icd_code=I5020, icd_version=10", "duplicate_row"),)),
    RowFault("dictionary entry of ICD version 8",
             row_changed(DICTIONARY, {"icd_code": "4281", "icd_version": "9"}, icd_version="8"),
             (Reject(DICTIONARY, "icd_code=4281, icd_version=8", "invalid_icd_version"),)),
    # ICU stays
    RowFault("ICU stay starting 8 hours before its admission",
             row_changed(ICUSTAYS, {"stay_id": "30100191"}, **STAY_30100191_FROM_8_HOURS_EARLY),
             (Reject(ICUSTAYS, "stay_id=30100191", "icu_stay_outside_admission"),)),
    RowFault("ICU stay starting 4.5 hours before its admission (within the tolerance)",
             row_changed(ICUSTAYS, {"stay_id": "30100211"}, intime="2119-03-03 07:30:00", los="2.0625"),
             staged=(("stg_mimic__icustays", "stay_id = 30100211"),)),
    RowFault("negative ICU length of stay", row_changed(ICUSTAYS, {"stay_id": "30100241"}, los="-0.5"),
             (Reject(ICUSTAYS, "stay_id=30100241", "negative_length_of_stay"),)),
    RowFault("ICU stay of an unknown admission",
             row_added(ICUSTAYS, subject_id="10100024", hadm_id="29999998", stay_id="30100999",
                       first_careunit="Coronary Care Unit (CCU)", last_careunit="Coronary Care Unit (CCU)",
                       intime="2137-01-06 10:00:00", outtime="2137-01-07 10:00:00", los="1.0"),
             (Reject(ICUSTAYS, "stay_id=30100999", "orphan_hadm_id"),)),
    RowFault("ICU stay ending before it starts, with a negative length",
             row_added(ICUSTAYS, subject_id="10100024", hadm_id="20100241", stay_id="30100998",
                       first_careunit="Coronary Care Unit (CCU)", last_careunit="Coronary Care Unit (CCU)",
                       intime="2137-01-06 10:00:00", outtime="2137-01-06 08:00:00", los="-0.0833"),
             (Reject(ICUSTAYS, "stay_id=30100998", "outtime_before_intime"),)),
    RowFault("ICU stay under another patient than its admission",
             row_added(ICUSTAYS, subject_id="10100001", hadm_id="20100241", stay_id="30100997",
                       first_careunit="Coronary Care Unit (CCU)", last_careunit="Coronary Care Unit (CCU)",
                       intime="2137-01-06 10:00:00", outtime="2137-01-07 10:00:00", los="1.0"),
             (Reject(ICUSTAYS, "stay_id=30100997", "patient_mismatch"),)),
    RowFault("ICU los ten times its own times",
             row_added(ICUSTAYS, subject_id="10100024", hadm_id="20100242", stay_id="30100996",
                       first_careunit="Coronary Care Unit (CCU)", last_careunit="Coronary Care Unit (CCU)",
                       intime="2137-01-26 10:00:00", outtime="2137-01-27 10:00:00", los="10.0"),
             (Reject(ICUSTAYS, "stay_id=30100996", "icu_los_mismatch"),)),
    RowFault("ICU los of 400 days without an outtime",
             row_added(ICUSTAYS, subject_id="10100024", hadm_id="20100243", stay_id="30100995",
                       first_careunit="Coronary Care Unit (CCU)", last_careunit="Coronary Care Unit (CCU)",
                       intime="2137-02-21 10:00:00", los="400.0"),
             (Reject(ICUSTAYS, "stay_id=30100995", "length_of_stay_too_long"),)),
    RowFault("ICU los rounded to three decimals (within icu_los_tolerance_hours)",
             row_changed(ICUSTAYS, {"stay_id": "30100081"}, los="2.818"),
             staged=(("stg_mimic__icustays", "stay_id = 30100081 and los = 2.818"),)),
    RowFault("ICU stay key repeated with another unit",
             row_copied(ICUSTAYS, {"stay_id": "30100082"}, last_careunit="Trauma SICU (TSICU)"),
             (Reject(ICUSTAYS, "stay_id=30100082", "duplicate_key"),),
             staged=(("stg_mimic__icustays", "stay_id = 30100082 and last_careunit like 'Medical%'"),)),
]


def damaged_with_row_faults(destination: Path) -> Path:
    """A copy of the fixture with every row fault applied."""
    mimic_dir = copy_fixture(destination)
    for fault in ROW_FAULTS:
        fault.damage(mimic_dir)
    return mimic_dir


def test_row_faults_for_the_data_model_load_every_row_as_given(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    mimic_dir = damaged_with_row_faults(tmp_path / "mimic")
    db = tmp_path / "warehouse.duckdb"
    assert main([str(mimic_dir), "--db", str(db)]) == 0, capsys.readouterr().err
    assert_raw_tables_match(db, mimic_dir)
