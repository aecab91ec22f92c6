"""Writing a generation into the DuckDB warehouse, and reading back what is there.

The raw MIMIC-IV tables and schema synthetic_truth are replaced in one transaction: if anything fails before
the commit, the warehouse keeps its previous contents. Other schemas (dbt's) are left alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from generator import schema
from generator.archetypes import ARCHETYPES
from generator.load_log import record_load
from generator.pipeline import Chunk

TRUTH = schema.TRUTH_SCHEMA
TRUTH_TABLES: dict[str, str] = {
    "generation": "generator_version varchar not null, patients integer not null, seed bigint not null, "
                  "release_end_year smallint not null, admissions bigint not null, "
                  "diagnoses bigint not null, icu_stays bigint not null",
    "archetypes": "archetype varchar not null, label varchar not null, description varchar not null, "
                  "prevalence double not null",
    "patient_archetypes": "subject_id integer not null, archetype varchar not null, "
                          "latent_risk double not null",
    "patient_conditions": "subject_id integer not null, condition varchar not null, "
                          "condition_family varchar not null",
    "patient_calendar": "subject_id integer not null, real_anchor_year smallint not null, "
                        "year_shift smallint not null",
}
# Row order of the exported files, like PhysioNet's.
CSV_ORDER: dict[str, str] = {
    schema.PATIENTS.qualified_name: "subject_id",
    schema.ADMISSIONS.qualified_name: "subject_id, hadm_id",
    schema.DIAGNOSES_ICD.qualified_name: "subject_id, hadm_id, seq_num",
    schema.D_ICD_DIAGNOSES.qualified_name: "icd_version, icd_code",
    schema.ICUSTAYS.qualified_name: "subject_id, hadm_id, stay_id",
}


@dataclass(frozen=True)
class Generation:
    version: str
    patients: int
    seed: int
    release_end_year: int
    admissions: int = 0
    diagnoses: int = 0
    icu_stays: int = 0


# The generation record's columns; a record lacking one was written by an older generator.
GENERATION_COLUMNS = frozenset({
    "generator_version", "patients", "seed", "release_end_year", "admissions", "diagnoses", "icu_stays",
})

def holds_generation(db_path: Path, wanted: Generation) -> bool:
    """True when the warehouse's recorded generation has the same version, patients, seed and release end
    year, and its raw tables still hold the rows recorded for it."""
    if not db_path.exists():
        return False
    with duckdb.connect(str(db_path), read_only=True) as con:
        present = {
            (row[0], row[1]) for row in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        if (TRUTH, "generation") not in present or any(
            (table.schema, table.name) not in present for table in schema.RAW_TABLES
        ):
            return False
        recorded_columns = {row[0] for row in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [TRUTH, "generation"],
        ).fetchall()}
        # A record written by an older generator lacks newer columns: that population is not the one wanted.
        if not recorded_columns >= GENERATION_COLUMNS:
            return False
        recorded = con.execute(
            "select generator_version, patients, seed, release_end_year, admissions, diagnoses, icu_stays "
            f"from {TRUTH}.generation"
        ).fetchall()
        if len(recorded) != 1:
            return False
        version, patients, seed, release_end_year, admissions, diagnoses, icu_stays = recorded[0]
        if (version, patients, seed, release_end_year) != (
                wanted.version, wanted.patients, wanted.seed, wanted.release_end_year):
            return False
        counts = [con.execute(f"select count(*) from {table.qualified_name}").fetchone()[0]
                  for table in (schema.PATIENTS, schema.ADMISSIONS, schema.DIAGNOSES_ICD, schema.ICUSTAYS)]
        return counts == [patients, admissions, diagnoses, icu_stays]


def write_generation(con: duckdb.DuckDBPyConnection, chunks: Iterable[Chunk],
                     dictionary: Callable[[], pa.Table], generation: Generation,
                     progress: Callable[[str], None]) -> Generation:
    """Replace the raw tables and synthetic_truth with the chunks' rows, the code dictionary and the
    generation record, in one transaction. Returns the generation with its row counts."""
    con.execute("begin transaction")
    try:
        recreate_tables(con)
        counts = {table.qualified_name: 0 for table in schema.RAW_TABLES}
        for number, chunk in enumerate(chunks, start=1):
            truth = {f"{TRUTH}.{name}": table for name, table in chunk.truth.items()}
            for name, table in (chunk.raw | truth).items():
                insert(con, name, table)
                counts[name] = counts.get(name, 0) + table.num_rows
            progress(f"chunk {number}: {counts[schema.PATIENTS.qualified_name]:,} patients, "
                     f"{counts[schema.ADMISSIONS.qualified_name]:,} admissions, "
                     f"{counts[schema.DIAGNOSES_ICD.qualified_name]:,} diagnoses written")
        insert(con, schema.D_ICD_DIAGNOSES.qualified_name, dictionary())
        written = Generation(
            version=generation.version,
            patients=counts[schema.PATIENTS.qualified_name],
            seed=generation.seed,
            release_end_year=generation.release_end_year,
            admissions=counts[schema.ADMISSIONS.qualified_name],
            diagnoses=counts[schema.DIAGNOSES_ICD.qualified_name],
            icu_stays=counts[schema.ICUSTAYS.qualified_name],
        )
        insert_metadata(con, written)
        record_load(con, "generator", {
            "generator_version": written.version, "patients": written.patients, "seed": written.seed,
            "rows": {name: counts[name] for name in sorted(counts) if not name.startswith(f"{TRUTH}.")}
                    | {schema.D_ICD_DIAGNOSES.qualified_name: dictionary_rows(con)},
        })
        con.execute("commit")
    except BaseException:
        # The original error matters, not a failing rollback on a broken connection.
        with contextlib.suppress(duckdb.Error):
            con.execute("rollback")
        raise
    return written


def dictionary_rows(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute(f"select count(*) from {schema.D_ICD_DIAGNOSES.qualified_name}").fetchone()[0])


def recreate_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name in (*schema.RAW_SCHEMAS, TRUTH):
        con.execute(f"create schema if not exists {name}")
    for table in schema.RAW_TABLES:
        con.execute(f"drop table if exists {table.qualified_name}")
        con.execute(table.create_sql())
    for name, columns in TRUTH_TABLES.items():
        con.execute(f"drop table if exists {TRUTH}.{name}")
        con.execute(f"create table {TRUTH}.{name} ({columns})")


def insert(con: duckdb.DuckDBPyConnection, qualified_name: str, table: pa.Table) -> None:
    con.register("incoming", table)
    try:
        con.execute(f"insert into {qualified_name} select * from incoming")
    finally:
        con.unregister("incoming")


def insert_metadata(con: duckdb.DuckDBPyConnection, generation: Generation) -> None:
    con.execute(f"insert into {TRUTH}.generation values (?, ?, ?, ?, ?, ?, ?)", [
        generation.version, generation.patients, generation.seed, generation.release_end_year,
        generation.admissions, generation.diagnoses, generation.icu_stays,
    ])
    con.executemany(f"insert into {TRUTH}.archetypes values (?, ?, ?, ?)", [
        [archetype.name, archetype.label, archetype.description, archetype.prevalence]
        for archetype in ARCHETYPES
    ])


def export_csv(db_path: Path, csv_dir: Path) -> list[Path]:
    """PhysioNet's layout: <dir>/hosp/<table>.csv.gz and <dir>/icu/icustays.csv.gz, comma separated with a
    header row, timestamps as YYYY-MM-DD HH:MM:SS and NULL as an empty field."""
    written = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        for table in schema.RAW_TABLES:
            target = csv_dir / f"{table.file_stem}.csv.gz"
            target.parent.mkdir(parents=True, exist_ok=True)
            # A plain .csv of the same table left from an earlier export would make the folder ambiguous.
            (csv_dir / f"{table.file_stem}.csv").unlink(missing_ok=True)
            columns = ", ".join(table.column_names)
            query = f"select {columns} from {table.qualified_name} order by {CSV_ORDER[table.qualified_name]}"
            target_literal = str(target).replace("'", "''")
            con.execute(
                f"copy ({query}) to '{target_literal}' (format csv, header true, delimiter ',', "
                "compression gzip, timestampformat '%Y-%m-%d %H:%M:%S', dateformat '%Y-%m-%d')"
            )
            written.append(target)
    return written
