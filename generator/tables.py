"""Arrow tables in the column order of generator/schema.py, ready for DuckDB (or CSV through DuckDB).

Repeated strings travel as dictionary-encoded columns, which DuckDB ingests much faster than plain strings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from generator import schema, vocab
from generator.codes import CodeCatalog
from generator.diagnoses import Diagnoses
from generator.encounters import (
    ADMISSION_LOCATIONS,
    ADMISSION_TYPES,
    CAREUNITS,
    DISCHARGE_LOCATIONS,
    INSURANCES,
    Encounters,
)
from generator.population import Patients, PopulationModel


def categorical(indices: np.ndarray, values: Sequence[str | None]) -> pa.DictionaryArray:
    """Indices into `values`; a negative index or a None value is NULL."""
    indices = np.asarray(indices)
    null_value = np.array([value is None for value in values] + [True])
    mask = null_value[np.where(indices < 0, len(values), indices)]
    dictionary = pa.array([value or "" for value in values], type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32), mask=mask), dictionary)


def timestamps(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.timestamp("s"), from_pandas=True)


def ints(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    return pa.array(np.asarray(values).astype(arrow_type.to_pandas_dtype()), type=arrow_type)


def named(table: schema.RawTable, columns: list[pa.Array]) -> pa.Table:
    return pa.Table.from_arrays(columns, names=table.column_names)


def patients_table(patients: Patients, subject_ids: np.ndarray, dod: np.ndarray) -> pa.Table:
    groups = vocab.values(vocab.ANCHOR_YEAR_GROUPS)
    return named(schema.PATIENTS, [
        pa.array(subject_ids, type=pa.int32()),
        categorical(np.where(patients.female, 0, 1), ["F", "M"]),
        ints(patients.anchor_age, pa.int16()),
        ints(patients.anchor_year, pa.int16()),
        categorical(patients.anchor_group, groups),
        pa.array(dod, type=pa.date32(), from_pandas=True),
    ])


def admissions_table(patients: Patients, encounters: Encounters, subject_ids: np.ndarray,
                     hadm_ids: np.ndarray, providers: list[str]) -> pa.Table:
    adm = encounters.admissions
    patient = adm.patient
    return named(schema.ADMISSIONS, [
        pa.array(subject_ids[patient], type=pa.int32()),
        pa.array(hadm_ids, type=pa.int32()),
        timestamps(adm.admittime),
        timestamps(adm.dischtime),
        timestamps(adm.deathtime),
        categorical(adm.admission_type, ADMISSION_TYPES),
        categorical(adm.provider, providers),
        categorical(adm.admission_location, ADMISSION_LOCATIONS),
        categorical(adm.discharge_location, DISCHARGE_LOCATIONS),
        categorical(adm.insurance, INSURANCES),
        categorical(patients.language[patient], vocab.values(vocab.LANGUAGES)),
        categorical(patients.marital_status[patient], vocab.MARITAL_VALUES),
        categorical(patients.race[patient], vocab.values(vocab.RACES)),
        timestamps(adm.edregtime),
        timestamps(adm.edouttime),
        ints(adm.died, pa.int16()),
    ])


def diagnoses_table(diagnoses: Diagnoses, encounters: Encounters, subject_ids: np.ndarray,
                    hadm_ids: np.ndarray, catalog: CodeCatalog) -> pa.Table:
    admission = diagnoses.admission
    return named(schema.DIAGNOSES_ICD, [
        pa.array(subject_ids[encounters.admissions.patient[admission]], type=pa.int32()),
        pa.array(hadm_ids[admission], type=pa.int32()),
        pa.array(diagnoses.seq_num.astype(np.int32), type=pa.int32()),
        categorical(diagnoses.code_id, catalog.codes),
        ints(9 + (diagnoses.code_id % 2), pa.int16()),
    ])


def icustays_table(encounters: Encounters, subject_ids: np.ndarray, hadm_ids: np.ndarray,
                   stay_ids: np.ndarray) -> pa.Table:
    icu = encounters.icu
    los = (icu.outtime - icu.intime).astype(np.int64) / 86_400.0
    return named(schema.ICUSTAYS, [
        pa.array(subject_ids[encounters.admissions.patient[icu.admission]], type=pa.int32()),
        pa.array(hadm_ids[icu.admission], type=pa.int32()),
        pa.array(stay_ids, type=pa.int32()),
        categorical(icu.first_careunit, CAREUNITS),
        categorical(icu.last_careunit, CAREUNITS),
        timestamps(icu.intime),
        timestamps(icu.outtime),
        pa.array(los, type=pa.float64()),
    ])


def d_icd_diagnoses_table(icd9_titles: dict[str, str], icd10_codes: list[str],
                          icd10_titles: list[str]) -> pa.Table:
    icd9 = sorted(icd9_titles)
    versions = np.r_[np.full(len(icd9), 9), np.full(len(icd10_codes), 10)]
    return named(schema.D_ICD_DIAGNOSES, [
        pa.array(icd9 + icd10_codes, type=pa.string()),
        ints(versions, pa.int16()),
        pa.array([icd9_titles[code] for code in icd9] + icd10_titles, type=pa.string()),
    ])


def patient_archetypes_table(patients: Patients, subject_ids: np.ndarray, model: PopulationModel) -> pa.Table:
    return pa.table({
        "subject_id": pa.array(subject_ids, type=pa.int32()),
        "archetype": categorical(patients.archetype, [archetype.name for archetype in model.archetypes]),
        "latent_risk": pa.array(patients.latent_risk, type=pa.float64()),
    })


def patient_conditions_table(patients: Patients, subject_ids: np.ndarray, model: PopulationModel) -> pa.Table:
    patient, condition = np.nonzero(patients.conditions)
    families = list(dict.fromkeys(model.condition_families))
    family_index = np.array([families.index(family) for family in model.condition_families])
    return pa.table({
        "subject_id": pa.array(subject_ids[patient], type=pa.int32()),
        "condition": categorical(condition, list(model.condition_names)),
        "condition_family": categorical(family_index[condition], families),
    })


def patient_calendar_table(patients: Patients, subject_ids: np.ndarray) -> pa.Table:
    return pa.table({
        "subject_id": pa.array(subject_ids, type=pa.int32()),
        "real_anchor_year": ints(patients.real_anchor_year, pa.int16()),
        "year_shift": ints(patients.year_shift, pa.int16()),
    })
