"""The raw MIMIC-IV tables this product reads: names, column order and types.

One definition serves the generator (which writes these tables) and the loader (which reads PhysioNet files
into them), so that SQL written for MIMIC-IV runs unchanged on either. Types follow MIMIC-IV's own PostgreSQL
build, mapped to DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    not_null: bool = False


@dataclass(frozen=True)
class RawTable:
    schema: str
    name: str
    columns: tuple[Column, ...]
    # Where PhysioNet's download keeps the file, relative to the release folder (without .csv / .csv.gz).
    file_stem: str

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def create_sql(self, qualified_name: str | None = None) -> str:
        """CREATE TABLE statement with the contract's columns, optionally under another name."""
        definitions = [f"{c.name} {c.sql_type}{' not null' if c.not_null else ''}" for c in self.columns]
        body = ",\n    ".join(definitions)
        return f"create table {qualified_name or self.qualified_name} (\n    {body}\n)"


PATIENTS = RawTable(
    schema="mimiciv_hosp",
    name="patients",
    file_stem="hosp/patients",
    columns=(
        Column("subject_id", "integer", not_null=True),
        Column("gender", "varchar(1)", not_null=True),
        Column("anchor_age", "smallint"),
        Column("anchor_year", "smallint", not_null=True),
        Column("anchor_year_group", "varchar(20)", not_null=True),
        Column("dod", "date"),
    ),
)

ADMISSIONS = RawTable(
    schema="mimiciv_hosp",
    name="admissions",
    file_stem="hosp/admissions",
    columns=(
        Column("subject_id", "integer"),
        Column("hadm_id", "integer"),
        Column("admittime", "timestamp", not_null=True),
        Column("dischtime", "timestamp"),
        Column("deathtime", "timestamp"),
        Column("admission_type", "varchar(40)", not_null=True),
        Column("admit_provider_id", "varchar(10)"),
        Column("admission_location", "varchar(60)"),
        Column("discharge_location", "varchar(60)"),
        Column("insurance", "varchar(255)"),
        Column("language", "varchar(25)"),
        Column("marital_status", "varchar(30)"),
        Column("race", "varchar(80)"),
        Column("edregtime", "timestamp"),
        Column("edouttime", "timestamp"),
        Column("hospital_expire_flag", "smallint"),
    ),
)

DIAGNOSES_ICD = RawTable(
    schema="mimiciv_hosp",
    name="diagnoses_icd",
    file_stem="hosp/diagnoses_icd",
    columns=(
        Column("subject_id", "integer"),
        Column("hadm_id", "integer"),
        Column("seq_num", "integer", not_null=True),
        Column("icd_code", "varchar(7)"),
        Column("icd_version", "smallint"),
    ),
)

D_ICD_DIAGNOSES = RawTable(
    schema="mimiciv_hosp",
    name="d_icd_diagnoses",
    file_stem="hosp/d_icd_diagnoses",
    columns=(
        Column("icd_code", "varchar(7)", not_null=True),
        Column("icd_version", "smallint", not_null=True),
        Column("long_title", "varchar(255)"),
    ),
)

ICUSTAYS = RawTable(
    schema="mimiciv_icu",
    name="icustays",
    file_stem="icu/icustays",
    columns=(
        Column("subject_id", "integer"),
        Column("hadm_id", "integer"),
        Column("stay_id", "integer"),
        Column("first_careunit", "varchar(255)"),
        Column("last_careunit", "varchar(255)"),
        Column("intime", "timestamp"),
        Column("outtime", "timestamp"),
        Column("los", "double"),
    ),
)

RAW_TABLES: tuple[RawTable, ...] = (PATIENTS, ADMISSIONS, DIAGNOSES_ICD, D_ICD_DIAGNOSES, ICUSTAYS)
RAW_SCHEMAS: tuple[str, ...] = ("mimiciv_hosp", "mimiciv_icu")
TRUTH_SCHEMA = "synthetic_truth"
