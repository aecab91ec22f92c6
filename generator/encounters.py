"""Hospital admissions, ED visits, deaths and ICU stays of simulated patients.

Each patient's admissions are laid out on their own shifted calendar: the first one starts within two years
of the start of their anchor year, later ones follow the previous discharge after a gap that is either a
readmission (under 30 days) or a longer archetype-specific interval. The whole history is fitted inside the
patient's follow-up, which ends with real calendar year 2022 (MIMIC-IV 3.1's last year), so every admission's
real date lies in 2008-2022. Times are whole minutes, as in MIMIC's admissions; ICU times are whole seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator import vocab
from generator.population import BEHAVIORAL_FAMILY, Patients, PopulationModel, logit, sigmoid

LAST_REAL_YEAR = 2022
# US hospitals billed ICD-10-CM from 2015-10-01 on.
ICD10_START = (2015, 10)
FIRST_ADMISSION_WINDOW_DAYS = 730.0
MIN_LOS_DAYS = 0.2
MAX_LOS_DAYS = 60.0
# Share of the follow-up the hospital days of one patient may take at most.
MAX_HOSPITAL_SHARE = 0.8
READMISSION_GAP_DAYS = (1.5, 29.5)
GAP_SIGMA = 0.8
ED_MEDIAN_HOURS = 5.0
ED_HOURS_RANGE = (0.5, 24.0)
ED_OUT_MINUTES = (-15, 60)
DEATH_AFTER_DISCHARGE_DAYS = (1.0, 365.0)
# How strongly the latent burden moves each outcome within an archetype.
BURDEN_ON_ADMISSIONS = 0.8
BURDEN_ON_READMISSION = 0.5
BURDEN_ON_LOS = 0.15
BURDEN_ON_DEATH = 0.8
SECONDS_PER_DAY = 86_400


def year_start(years: np.ndarray) -> np.ndarray:
    """Midnight of 1 January of each (shifted) year, in seconds."""
    return (np.asarray(years) - 1970).astype("datetime64[Y]").astype("datetime64[s]")


@dataclass(frozen=True)
class Admissions:
    patient: np.ndarray
    admittime: np.ndarray
    dischtime: np.ndarray
    died: np.ndarray
    is_icd10: np.ndarray
    age: np.ndarray
    edregtime: np.ndarray  # NaT when not registered through the ED
    edouttime: np.ndarray
    admission_type: np.ndarray  # indices into ADMISSION_TYPES, and so on
    admission_location: np.ndarray
    discharge_location: np.ndarray  # -1: NULL
    insurance: np.ndarray
    provider: np.ndarray

    def __len__(self) -> int:
        return len(self.patient)


@dataclass(frozen=True)
class IcuStays:
    admission: np.ndarray
    intime: np.ndarray
    outtime: np.ndarray
    first_careunit: np.ndarray
    last_careunit: np.ndarray

    def __len__(self) -> int:
        return len(self.admission)


@dataclass(frozen=True)
class Encounters:
    admissions: Admissions
    icu: IcuStays
    dod: np.ndarray  # per patient, datetime64[D], NaT when alive


ADMISSION_TYPES = vocab.universe(vocab.ED_ADMISSION_TYPES, vocab.DIRECT_ADMISSION_TYPES)
ADMISSION_LOCATIONS = vocab.universe(vocab.ED_ADMISSION_LOCATIONS, vocab.DIRECT_ADMISSION_LOCATIONS)
DISCHARGE_LOCATIONS = [*vocab.universe(*vocab.DISCHARGE_LOCATIONS.values()), vocab.DIED]
INSURANCES = vocab.universe(vocab.INSURANCE_SENIOR, vocab.INSURANCE_BEHAVIORAL, vocab.INSURANCE_WORKING_AGE)
CAREUNITS = vocab.universe(vocab.CAREUNITS)


def seconds(days: np.ndarray) -> np.ndarray:
    return np.rint(days * SECONDS_PER_DAY).astype(np.int64).astype("timedelta64[s]")


def minutes(days: np.ndarray) -> np.ndarray:
    return (np.rint(days * 1440.0).astype(np.int64) * 60).astype("timedelta64[s]")


def simulate_encounters(rng: np.random.Generator, patients: Patients, model: PopulationModel,
                        n_providers: int) -> Encounters:
    arch = patients.archetype
    extra_p = sigmoid(logit(model.attribute("admissions_extra_p")[arch])
                      + BURDEN_ON_ADMISSIONS * patients.burden)
    counts = (model.attribute("admissions_min")[arch]
              + rng.binomial(model.attribute("admissions_extra")[arch], extra_p))
    patient = np.repeat(np.arange(len(patients)), counts)
    first = np.cumsum(counts) - counts
    seq = np.arange(len(patient)) - first[patient]
    adm_arch, adm_burden = arch[patient], patients.burden[patient]

    start = year_start(patients.anchor_year)
    follow_up_end = year_start(patients.year_shift + LAST_REAL_YEAR + 1)
    available = (follow_up_end - start).astype(np.int64) / SECONDS_PER_DAY - 1.0
    admit_day, los, gap = lay_out_admissions(
        rng, patient, first, seq, counts, available, adm_arch, adm_burden, model
    )

    admit = start[patient] + minutes(admit_day)
    disch = start[patient] + minutes(admit_day + los)
    died, dod = simulate_deaths(rng, patients, model, counts, first, disch)
    edreg, edout, through_ed = simulate_ed(rng, admit, gap, seq, adm_arch, model)
    switch = (((patients.year_shift + ICD10_START[0] - 1970) * 12 + ICD10_START[1] - 1)
              .astype("datetime64[M]").astype("datetime64[s]"))
    age = (patients.anchor_age[patient]
           + admit.astype("datetime64[Y]").astype(np.int64) + 1970 - patients.anchor_year[patient])
    admissions = Admissions(
        patient=patient,
        admittime=admit,
        dischtime=disch,
        died=died,
        is_icd10=admit >= switch[patient],
        age=age,
        edregtime=edreg,
        edouttime=edout,
        admission_type=admission_field(rng, through_ed, vocab.ED_ADMISSION_TYPES,
                                       vocab.DIRECT_ADMISSION_TYPES, ADMISSION_TYPES),
        admission_location=admission_field(rng, through_ed, vocab.ED_ADMISSION_LOCATIONS,
                                           vocab.DIRECT_ADMISSION_LOCATIONS, ADMISSION_LOCATIONS),
        discharge_location=discharge_locations(rng, adm_arch, died, model),
        insurance=insurances(patients, patient, age, model),
        provider=rng.integers(0, n_providers, len(patient)),
    )
    icu = simulate_icu(rng, admissions, los, seq, adm_arch, model)
    return Encounters(admissions, icu, dod)


def lay_out_admissions(rng: np.random.Generator, patient: np.ndarray, first: np.ndarray, seq: np.ndarray,
                       counts: np.ndarray, available: np.ndarray, adm_arch: np.ndarray,
                       adm_burden: np.ndarray,
                       model: PopulationModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Admission start (days after 1 January of the anchor year), length of stay and the gap before each
    admission, all in days, fitted inside the available follow-up."""
    size, n_patients = len(patient), len(counts)
    median = model.attribute("los_median_days")[adm_arch] * np.exp(BURDEN_ON_LOS * adm_burden)
    los = np.clip(median * np.exp(model.attribute("los_sigma")[adm_arch] * rng.standard_normal(size)),
                  MIN_LOS_DAYS, MAX_LOS_DAYS)
    readmit_p = sigmoid(logit(model.attribute("readmit_30d")[adm_arch]) + BURDEN_ON_READMISSION * adm_burden)
    readmitted = rng.random(size) < readmit_p
    spread = np.exp(GAP_SIGMA * rng.standard_normal(size))
    longer = 30.0 + model.attribute("gap_median_days")[adm_arch] * spread
    gap = np.where(readmitted, rng.uniform(*READMISSION_GAP_DAYS, size), longer)
    gap[seq == 0] = 0.0

    los_total = np.bincount(patient, weights=los, minlength=n_patients)
    los_scale = np.minimum(1.0, MAX_HOSPITAL_SHARE * available / np.maximum(los_total, MIN_LOS_DAYS))
    los *= los_scale[patient]
    room = available - los_total * los_scale - 1.0
    gap_total = np.bincount(patient, weights=gap, minlength=n_patients)
    gap_scale = np.minimum(1.0, room / np.maximum(gap_total, 1e-9))
    gap *= gap_scale[patient]
    slack = room - gap_total * gap_scale
    first_offset = 1.0 + rng.random(n_patients) * np.minimum(slack, FIRST_ADMISSION_WINDOW_DAYS)

    previous_los = np.r_[0.0, los[:-1]]
    step = gap + np.where(seq > 0, previous_los, 0.0)
    running = np.cumsum(step)
    admit_day = first_offset[patient] + running - running[first[patient]]
    return admit_day, los, gap


def simulate_deaths(rng: np.random.Generator, patients: Patients, model: PopulationModel, counts: np.ndarray,
                    first: np.ndarray, disch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """In-hospital deaths happen in the patient's last admission; some survivors die within a year."""
    arch, burden = patients.archetype, patients.burden
    admitted = counts > 0
    in_hospital = admitted & (rng.random(len(arch)) < sigmoid(
        logit(model.attribute("death_in_hospital")[arch]) + BURDEN_ON_DEATH * burden))
    after = admitted & ~in_hospital & (rng.random(len(arch)) < sigmoid(
        logit(model.attribute("death_after_discharge")[arch]) + BURDEN_ON_DEATH * burden))
    last = np.where(admitted, first + counts - 1, 0)
    last_discharge = disch[last] if len(disch) else np.zeros(len(arch), dtype="datetime64[s]")
    days_after = rng.uniform(*DEATH_AFTER_DISCHARGE_DAYS, len(arch))
    dod = np.full(len(arch), np.datetime64("NaT"), dtype="datetime64[D]")
    dod[in_hospital] = last_discharge[in_hospital].astype("datetime64[D]")
    dod[after] = (last_discharge[after] + minutes(days_after[after])).astype("datetime64[D]")
    died = np.zeros(len(disch), dtype=bool)
    died[last[in_hospital]] = True
    return died, dod


def simulate_ed(rng: np.random.Generator, admit: np.ndarray, gap: np.ndarray, seq: np.ndarray,
                adm_arch: np.ndarray, model: PopulationModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ED registration a few hours before admission (never reaching back into the previous stay when the gap
    allows) and ED departure around the admission time."""
    size = len(admit)
    through_ed = rng.random(size) < model.attribute("ed_share")[adm_arch]
    hours = np.clip(ED_MEDIAN_HOURS * np.exp(0.5 * rng.standard_normal(size)), *ED_HOURS_RANGE)
    hours = np.where(seq > 0, np.maximum(np.minimum(hours, 0.9 * 24.0 * gap), ED_HOURS_RANGE[0]), hours)
    out_minutes = rng.integers(ED_OUT_MINUTES[0], ED_OUT_MINUTES[1] + 1, size)
    edreg = admit - minutes(hours / 24.0)
    edout = admit + (out_minutes * 60).astype("timedelta64[s]")
    not_ed = np.datetime64("NaT")
    return np.where(through_ed, edreg, not_ed), np.where(through_ed, edout, not_ed), through_ed


def admission_field(rng: np.random.Generator, through_ed: np.ndarray, ed_pool: vocab.Pool,
                    direct_pool: vocab.Pool, values: list[str]) -> np.ndarray:
    return np.where(through_ed, vocab.draw_into(rng, ed_pool, len(through_ed), values),
                    vocab.draw_into(rng, direct_pool, len(through_ed), values))


def discharge_locations(rng: np.random.Generator, adm_arch: np.ndarray, died: np.ndarray,
                        model: PopulationModel) -> np.ndarray:
    location = np.empty(len(adm_arch), dtype=np.int64)
    for row, archetype in enumerate(model.archetypes):
        chosen = adm_arch == row
        location[chosen] = vocab.draw_into(rng, vocab.DISCHARGE_LOCATIONS[archetype.name], int(chosen.sum()),
                                     DISCHARGE_LOCATIONS)
    location[died] = DISCHARGE_LOCATIONS.index(vocab.DIED)
    return location


def insurances(patients: Patients, patient: np.ndarray, age: np.ndarray,
               model: PopulationModel) -> np.ndarray:
    """Insurance from the patient's own uniform draw under the profile that applies at each admission, so a
    patient keeps their insurer until the profile changes (turning 65)."""
    behavioral = model.attribute("required_family")[patients.archetype[patient]] == BEHAVIORAL_FAMILY
    profile = np.where(age >= vocab.MEDICARE_AGE, 0, np.where(behavioral, 1, 2))
    draws = patients.insurance_draw[patient]
    insurance = np.empty(len(patient), dtype=np.int64)
    pools = (vocab.INSURANCE_SENIOR, vocab.INSURANCE_BEHAVIORAL, vocab.INSURANCE_WORKING_AGE)
    for position, pool in enumerate(pools):
        chosen = profile == position
        mapping = np.array([INSURANCES.index(value) for value in vocab.values(pool)])
        cumulative = np.cumsum(vocab.probabilities(pool))
        picked = np.minimum(np.searchsorted(cumulative, draws[chosen], side="right"), len(pool) - 1)
        insurance[chosen] = mapping[picked]
    return insurance


def simulate_icu(rng: np.random.Generator, admissions: Admissions, los: np.ndarray, seq: np.ndarray,
                 adm_arch: np.ndarray, model: PopulationModel) -> IcuStays:
    """ICU time is a share of the admission starting early in it; some admissions return to the ICU after a
    ward interval. Stays lie inside their admission."""
    chance = np.where(seq == 0, model.attribute("icu_first")[adm_arch],
                      model.attribute("icu_later")[adm_arch])
    with_icu = np.flatnonzero(rng.random(len(seq)) < chance)
    arch = adm_arch[with_icu]
    share = rng.uniform(model.attribute("icu_fraction_min")[arch], model.attribute("icu_fraction_max")[arch])
    length = share * los[with_icu]
    before = rng.random(len(with_icu)) * (1.0 - share) * los[with_icu] * 0.5
    twice = rng.random(len(with_icu)) < model.attribute("icu_second_stay")[arch]
    # A second stay splits the ICU period: 45 % first, a ward interval, then the last 40 %.
    starts = np.concatenate([before, before[twice] + 0.6 * length[twice]])
    ends = np.concatenate([before + np.where(twice, 0.45, 1.0) * length, before[twice] + length[twice]])
    admission = np.concatenate([with_icu, with_icu[twice]])
    order = np.lexsort((starts, admission))
    admission, starts, ends = admission[order], starts[order], ends[order]
    admit, disch = admissions.admittime[admission], admissions.dischtime[admission]
    intime = admit + seconds(starts)
    outtime = np.minimum(admit + seconds(ends), disch)
    first_unit = vocab.draw_into(rng, vocab.CAREUNITS, len(admission), CAREUNITS)
    moved = rng.random(len(admission)) >= vocab.SAME_LAST_CAREUNIT
    last_unit = np.where(moved, vocab.draw_into(rng, vocab.CAREUNITS, len(admission), CAREUNITS), first_unit)
    return IcuStays(admission, intime, outtime, first_unit, last_unit)
