"""One generation: the fixed parts (model, code catalog, providers, identifier scrambles, the release's last
real year) and the population, simulated chunk by chunk.

Chunks have a fixed size and their own random stream (seeded by the seed and the chunk number), and
identifiers are allocated by position in the whole generation, so the output depends only on the number of
patients, the seed and the release's last real year.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from generator import schema, tables
from generator.archetypes import ARCHETYPE_NAMES, ARCHETYPES
from generator.codes import CodeCatalog, build_catalog
from generator.datafiles import PackageData, load_package_data
from generator.diagnoses import DiagnosisModel, build_diagnosis_model, simulate_diagnoses
from generator.encounters import simulate_encounters
from generator.errors import GenerationError
from generator.ids import HADM_BASE, RANGE_SIZE, STAY_BASE, SUBJECT_BASE, IdScramble, scramble
from generator.population import PopulationModel, build_model, simulate_patients
from generator.vocab import provider_ids

# Bump when the same patients and seed would give different data, so --skip-if-current regenerates.
GENERATOR_VERSION = "1.1.0"
CHUNK_PATIENTS = 100_000
# Keeps the expected admissions (about 1.5 per patient) well inside MIMIC's hadm_id range.
MAX_PATIENTS = 6_000_000
# varchar(255) in MIMIC's d_icd_diagnoses.long_title.
MAX_TITLE = 255
# Random stream of the identifier scrambles; chunk streams use the chunk number instead.
IDS_STREAM = 1_000_003


@dataclass(frozen=True)
class Simulation:
    package: PackageData
    model: PopulationModel
    catalog: CodeCatalog
    diagnosis_model: DiagnosisModel
    providers: list[str]
    subject_ids: IdScramble
    hadm_ids: IdScramble
    stay_ids: IdScramble
    release_end_year: int


@dataclass(frozen=True)
class Chunk:
    raw: dict[str, pa.Table]  # by qualified raw table name
    truth: dict[str, pa.Table]  # by synthetic_truth table name

    def rows(self, table: schema.RawTable) -> int:
        return self.raw[table.qualified_name].num_rows


def prepare(seed: int, release_end_year: int) -> Simulation:
    package = load_package_data(ARCHETYPE_NAMES)
    model = build_model(ARCHETYPES, package)
    catalog = build_catalog(package)
    diagnosis_model = build_diagnosis_model(catalog, package.pool_weights, ARCHETYPE_NAMES,
                                            model.attribute("diagnoses_mean"))
    id_rng = np.random.default_rng([seed, IDS_STREAM])
    return Simulation(
        package=package,
        model=model,
        catalog=catalog,
        diagnosis_model=diagnosis_model,
        providers=provider_ids(seed),
        subject_ids=scramble(id_rng, SUBJECT_BASE),
        hadm_ids=scramble(id_rng, HADM_BASE),
        stay_ids=scramble(id_rng, STAY_BASE),
        release_end_year=release_end_year,
    )


def chunk_sizes(patients: int) -> list[int]:
    full, rest = divmod(patients, CHUNK_PATIENTS)
    return [CHUNK_PATIENTS] * full + ([rest] if rest else [])


def simulate_chunks(simulation: Simulation, patients: int, seed: int) -> Iterator[Chunk]:
    if not 0 < patients <= MAX_PATIENTS:
        raise GenerationError(f"the number of patients must be between 1 and {MAX_PATIENTS:,}")
    first_patient = first_admission = first_stay = 0
    for number, size in enumerate(chunk_sizes(patients)):
        rng = np.random.default_rng([seed, number])
        chunk = simulate_chunk(simulation, rng, size, first_patient, first_admission, first_stay)
        first_patient += size
        first_admission += chunk.rows(schema.ADMISSIONS)
        first_stay += chunk.rows(schema.ICUSTAYS)
        yield chunk


def prefetched(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """The same chunks, the next one simulated in a background thread while the caller writes the current
    one: numpy and DuckDB release the GIL for their heavy work, so simulation and writing overlap."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()
    finished = object()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not hand_over(chunk):
                    return
            hand_over(finished)
        except BaseException as error:  # noqa: BLE001 - handed to the consuming thread, which raises it
            hand_over(error)

    producer = threading.Thread(target=produce, name="simulate-chunks", daemon=True)
    producer.start()
    try:
        while (item := handoff.get()) is not finished:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        producer.join()


def simulate_chunk(simulation: Simulation, rng: np.random.Generator, size: int, first_patient: int,
                   first_admission: int, first_stay: int) -> Chunk:
    model = simulation.model
    patients = simulate_patients(rng, size, model, simulation.release_end_year)
    encounters = simulate_encounters(rng, patients, model, len(simulation.providers),
                                     simulation.release_end_year)
    adm = encounters.admissions
    if first_admission + len(adm) > RANGE_SIZE:
        raise GenerationError(f"more than {RANGE_SIZE:,} admissions do not fit MIMIC's hadm_id range; "
                              "generate fewer patients")
    diagnoses = simulate_diagnoses(
        rng, patients.archetype[adm.patient], patients.burden[adm.patient], patients.conditions[adm.patient],
        adm.is_icd10, simulation.diagnosis_model, simulation.catalog,
    )
    subject_ids = simulation.subject_ids.ids(first_patient, size)
    hadm_ids = simulation.hadm_ids.ids(first_admission, len(adm))
    stay_ids = simulation.stay_ids.ids(first_stay, len(encounters.icu))
    raw = {
        schema.PATIENTS.qualified_name: tables.patients_table(patients, subject_ids, encounters.dod),
        schema.ADMISSIONS.qualified_name: tables.admissions_table(
            patients, encounters, subject_ids, hadm_ids, simulation.providers),
        schema.DIAGNOSES_ICD.qualified_name: tables.diagnoses_table(
            diagnoses, encounters, subject_ids, hadm_ids, simulation.catalog),
        schema.ICUSTAYS.qualified_name: tables.icustays_table(encounters, subject_ids, hadm_ids, stay_ids),
    }
    truth = {
        "patient_archetypes": tables.patient_archetypes_table(patients, subject_ids, model),
        "patient_conditions": tables.patient_conditions_table(patients, subject_ids, model),
        "patient_calendar": tables.patient_calendar_table(patients, subject_ids),
    }
    return Chunk(raw, truth)


def dictionary_table(simulation: Simulation, icd10_codes: list[str], icd10_titles: list[str]) -> pa.Table:
    """d_icd_diagnoses, after checking that every code the generator bills is in it."""
    too_long = [code for code, title in zip(icd10_codes, icd10_titles, strict=True) if len(title) > MAX_TITLE]
    if too_long:
        raise GenerationError(f"ICD-10-CM titles longer than d_icd_diagnoses.long_title's {MAX_TITLE} "
                              f"characters: {', '.join(too_long[:5])}")
    missing = sorted(set(simulation.catalog.codes_of_version(10)) - set(icd10_codes))
    if missing:
        raise GenerationError(f"ICD-10-CM code(s) {', '.join(missing)} in the generator's code lists are "
                              "not in the ICD-10-CM code list")
    return tables.d_icd_diagnoses_table(simulation.package.icd9_titles, icd10_codes, icd10_titles)
