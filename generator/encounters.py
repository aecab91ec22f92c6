"""Hospital admissions, ED visits, deaths and ICU stays of simulated patients.

Each patient's admissions are laid out on their own shifted calendar: the first one starts within two years
of the start of their anchor year, later ones follow the previous discharge after a gap that is either a
readmission (under 30 days) or a longer archetype-specific interval. The whole history is fitted inside the
patient's follow-up, which ends with the release's last real year (`release_end_year`, 2022 for MIMIC-IV 3.1,
2019 for v2.2 and its demo), so no admission's real date lies after it. Times are whole minutes, as in
MIMIC's admissions; ICU times are whole seconds.

MIMIC-IV's quirks that affect these tables are reproduced at rates like the real data's:
- observation admissions ('OBSERVATION ADMIT', 'EU OBSERVATION', 'DIRECT OBSERVATION', 'AMBULATORY
  OBSERVATION') are short: a stay longer than OBSERVATION_MAX_DAYS is never observation-type;
- same-day transfers (about 3 % of admissions): an 'EU OBSERVATION' or 'EW EMER.' admission of a few hours,
  then, minutes later on the same day, an inpatient admission of the same patient under its own hadm_id;
- about 30 % of in-hospital deaths are recorded with the discharge at the start of the day of death and
  `deathtime` 10-24 hours later (4 of 15 in-hospital deaths in MIMIC-IV's demo); the other deaths have
  deathtime = dischtime. Most deaths follow an ICU stay, and the last ICU stay of a death ends at the death,
  so for the former it ends 10-24 hours past `dischtime`;
- a few percent of ICU stays start minutes before their admission or end minutes after its discharge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator import vocab
from generator.population import BEHAVIORAL_FAMILY, Patients, PopulationModel, logit, sigmoid

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
# Observation status is for short stays (under Medicare's two-midnight rule, about two days at most); a
# longer stay gets an inpatient admission type, a short one is mostly observation as in MIMIC-IV.
OBSERVATION_MAX_DAYS = 2.0
OBSERVATION_SHARE_OF_SHORT_STAYS = 0.7
# Chance that an admission is preceded by the ED part of a same-day transfer, which lasts a few hours and
# ends up to TRANSFER_WAIT_MINUTES before the inpatient admission, on the same day. Only where the gap
# before the admission leaves a day to spare, so the two never overlap other admissions.
TRANSFER_SHARE = 0.035
TRANSFER_MEDIAN_HOURS = 6.0
TRANSFER_HOURS_RANGE = (2.0, 20.0)
TRANSFER_WAIT_MINUTES = 60
# Chance that an in-hospital death is recorded with the discharge at the start of the day of death, when the
# admission began at least LATE_DEATH_MIN_STAY_HOURS before that midnight; most are at 00:00:00, the rest a
# clock time in the first hours of the day. The death follows 10-24 hours after the discharge.
LATE_DEATH_SHARE = 0.3
LATE_DEATH_MIN_STAY_HOURS = 2
LATE_DEATH_CLOCK_SHARE = 0.3
LATE_DEATH_CLOCK_MINUTES = 180
LATE_DEATH_MIN_HOURS = 10
# Smallest chance that an admission ending in death has an ICU stay: most of MIMIC-IV's in-hospital deaths
# follow one, whatever the patient's usual ICU use.
ICU_SHARE_OF_DEATHS = 0.65
# ICU stays that cross their admission's edge: the first stay starting before admittime (straight from the
# ED) or the last one ending after dischtime, by a few minutes.
ICU_EARLY_START_SHARE = 0.03
ICU_LATE_END_SHARE = 0.02
ICU_EDGE_MINUTES = (1, 45)
# How strongly the latent burden moves each outcome within an archetype.
BURDEN_ON_ADMISSIONS = 0.8
BURDEN_ON_READMISSION = 0.5
BURDEN_ON_LOS = 0.15
BURDEN_ON_DEATH = 0.8
SECONDS_PER_DAY = 86_400


def year_start(years: np.ndarray) -> np.ndarray:
    """Midnight of 1 January of each (shifted) year, in seconds."""
    return (np.asarray(years) - 1970).astype("datetime64[Y]").astype("datetime64[s]")


def day_start(times: np.ndarray) -> np.ndarray:
    """Midnight of the day of each timestamp."""
    return times.astype("datetime64[D]").astype("datetime64[s]")


@dataclass(frozen=True)
class Admissions:
    patient: np.ndarray
    admittime: np.ndarray
    dischtime: np.ndarray
    deathtime: np.ndarray  # NaT unless the patient died in this admission
    is_icd10: np.ndarray
    age: np.ndarray
    edregtime: np.ndarray  # NaT when not registered through the ED
    edouttime: np.ndarray
    admission_type: np.ndarray  # indices into ADMISSION_TYPES, and so on
    admission_location: np.ndarray
    discharge_location: np.ndarray  # -1: NULL
    insurance: np.ndarray
    provider: np.ndarray

    @property
    def died(self) -> np.ndarray:
        return ~np.isnat(self.deathtime)

    @property
    def care_end(self) -> np.ndarray:
        """The later of the discharge and the death: where the patient's care in this admission ended."""
        return np.where(self.died, self.deathtime, self.dischtime)

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


def whole_minutes(count: np.ndarray) -> np.ndarray:
    return (np.asarray(count, dtype=np.int64) * 60).astype("timedelta64[s]")


def positions(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each patient's first admission, and each admission's rank within its patient."""
    first = np.cumsum(counts) - counts
    return first, np.arange(int(counts.sum())) - np.repeat(first, counts)


def simulate_encounters(rng: np.random.Generator, patients: Patients, model: PopulationModel,
                        n_providers: int, release_end_year: int) -> Encounters:
    arch = patients.archetype
    extra_p = sigmoid(logit(model.attribute("admissions_extra_p")[arch])
                      + BURDEN_ON_ADMISSIONS * patients.burden)
    counts = (model.attribute("admissions_min")[arch]
              + rng.binomial(model.attribute("admissions_extra")[arch], extra_p))
    patient = np.repeat(np.arange(len(patients)), counts)
    first, seq = positions(counts)

    start = year_start(patients.anchor_year)
    follow_up_end = year_start(patients.year_shift + release_end_year + 1)
    available = (follow_up_end - start).astype(np.int64) / SECONDS_PER_DAY - 1.0
    admit_day, los, gap = lay_out_admissions(
        rng, patient, first, seq, counts, available, arch[patient], patients.burden[patient], model
    )
    through_ed = rng.random(len(patient)) < model.attribute("ed_share")[arch[patient]]
    admission_type = admission_types(rng, through_ed, los)

    source, transfer_first, admit, disch = add_same_day_transfers(
        rng, start[patient] + minutes(admit_day), start[patient] + minutes(admit_day + los),
        np.where(seq == 0, admit_day, gap),
    )
    # The inpatient admission of a transfer came from the ED part before it, not through the ED itself.
    transfer_next = np.r_[False, transfer_first[:-1]][:len(source)]
    patient, laid_out_seq = patient[source], seq[source]
    counts = np.bincount(patient, minlength=len(patients))
    first, seq = positions(counts)
    adm_arch = arch[patient]
    through_ed = transfer_first | (through_ed[source] & ~transfer_next)
    admission_type = np.where(
        transfer_first, vocab.draw_into(rng, vocab.TRANSFER_FIRST_TYPES, len(source), ADMISSION_TYPES),
        np.where(transfer_next, vocab.draw_into(rng, vocab.TRANSFER_NEXT_TYPES, len(source), ADMISSION_TYPES),
                 admission_type[source]))

    since_previous = (admit - np.r_[admit[:1], disch[:-1]]).astype(np.int64) / SECONDS_PER_DAY
    edreg, edout = simulate_ed(rng, admit, since_previous, seq, through_ed)
    died, dod = simulate_deaths(rng, patients, model, counts, first, disch)
    disch, deathtime = late_discharges(rng, admit, disch, died)
    switch = (((patients.year_shift + ICD10_START[0] - 1970) * 12 + ICD10_START[1] - 1)
              .astype("datetime64[M]").astype("datetime64[s]"))
    age = (patients.anchor_age[patient]
           + admit.astype("datetime64[Y]").astype(np.int64) + 1970 - patients.anchor_year[patient])
    admissions = Admissions(
        patient=patient,
        admittime=admit,
        dischtime=disch,
        deathtime=deathtime,
        is_icd10=admit >= switch[patient],
        age=age,
        edregtime=edreg,
        edouttime=edout,
        admission_type=admission_type,
        admission_location=admission_field(rng, through_ed, vocab.ED_ADMISSION_LOCATIONS,
                                           vocab.DIRECT_ADMISSION_LOCATIONS, ADMISSION_LOCATIONS),
        discharge_location=discharge_locations(rng, adm_arch, died, model),
        insurance=insurances(patients, patient, age, model),
        provider=rng.integers(0, n_providers, len(patient)),
    )
    icu = simulate_icu(rng, admissions, laid_out_seq, transfer_first, adm_arch, model)
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


def admission_types(rng: np.random.Generator, through_ed: np.ndarray, los: np.ndarray) -> np.ndarray:
    """Admission types from the ED or the direct pool. Observation status is for short stays: a stay of at
    most OBSERVATION_MAX_DAYS is observation-type with chance OBSERVATION_SHARE_OF_SHORT_STAYS, among its
    pool's observation types; every other stay gets one of its pool's inpatient types."""
    size = len(los)
    observation = (los <= OBSERVATION_MAX_DAYS) & (rng.random(size) < OBSERVATION_SHARE_OF_SHORT_STAYS)

    def drawn(pool: vocab.Pool) -> np.ndarray:
        observation_pool, inpatient_pool = vocab.partition(pool, vocab.OBSERVATION_TYPES)
        return np.where(observation, vocab.draw_into(rng, observation_pool, size, ADMISSION_TYPES),
                        vocab.draw_into(rng, inpatient_pool, size, ADMISSION_TYPES))

    return np.where(through_ed, drawn(vocab.ED_ADMISSION_TYPES), drawn(vocab.DIRECT_ADMISSION_TYPES))


def add_same_day_transfers(rng: np.random.Generator, admit: np.ndarray, disch: np.ndarray,
                           room_days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Puts the ED part of a same-day transfer before some admissions: a few hours long and ending minutes
    before the admission, on its day. `room_days` is the time before each admission since the patient's
    previous discharge (or the start of the anchor year). Returns, per row of the result, the admission it
    was made from, whether it is such an ED part, and its admit and discharge times."""
    size = len(admit)
    hours = np.clip(TRANSFER_MEDIAN_HOURS * np.exp(0.5 * rng.standard_normal(size)), *TRANSFER_HOURS_RANGE)
    since_midnight = (admit - day_start(admit)).astype(np.int64) // 60
    wait = whole_minutes(np.minimum(rng.integers(1, TRANSFER_WAIT_MINUTES + 1, size), since_midnight))
    fits = room_days > 1.0 + hours / 24.0 + TRANSFER_WAIT_MINUTES / 1440.0
    transfer = fits & (rng.random(size) < TRANSFER_SHARE)
    rows = 1 + transfer.astype(np.int64)
    source = np.repeat(np.arange(size), rows)
    transfer_first = np.zeros(len(source), dtype=bool)
    transfer_first[(np.cumsum(rows) - rows)[transfer]] = True
    part_end = admit[source] - wait[source]
    new_disch = np.where(transfer_first, part_end, disch[source])
    new_admit = np.where(transfer_first, part_end - minutes(hours[source] / 24.0), admit[source])
    return source, transfer_first, new_admit, new_disch


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


def late_discharges(rng: np.random.Generator, admit: np.ndarray, disch: np.ndarray,
                    died: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Discharge and death times. An in-hospital death is at the discharge, except that some are recorded
    the way MIMIC-IV records them: the discharge at the start of the day of death (midnight, or a clock time
    in its first hours) and the death 10-24 hours later, on the same day, so dod is unchanged."""
    size = len(admit)
    day = day_start(disch)
    long_enough = admit <= day - np.timedelta64(LATE_DEATH_MIN_STAY_HOURS, "h")
    late = died & long_enough & (rng.random(size) < LATE_DEATH_SHARE)
    clock = np.where(rng.random(size) < LATE_DEATH_CLOCK_SHARE,
                     rng.integers(1, LATE_DEATH_CLOCK_MINUTES + 1, size), 0)
    after = rng.integers(LATE_DEATH_MIN_HOURS * 60, 1440 - clock)
    recorded = day + whole_minutes(clock)
    deathtime = np.where(late, recorded + whole_minutes(after), np.where(died, disch, np.datetime64("NaT")))
    return np.where(late, recorded, disch), deathtime


def simulate_ed(rng: np.random.Generator, admit: np.ndarray, since_previous: np.ndarray, seq: np.ndarray,
                through_ed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ED registration a few hours before admission (never reaching back into the previous stay when the gap
    allows) and ED departure around the admission time."""
    size = len(admit)
    hours = np.clip(ED_MEDIAN_HOURS * np.exp(0.5 * rng.standard_normal(size)), *ED_HOURS_RANGE)
    hours = np.where(seq > 0, np.maximum(np.minimum(hours, 0.9 * 24.0 * since_previous), ED_HOURS_RANGE[0]),
                     hours)
    out_minutes = rng.integers(ED_OUT_MINUTES[0], ED_OUT_MINUTES[1] + 1, size)
    edreg = admit - minutes(hours / 24.0)
    edout = admit + whole_minutes(out_minutes)
    not_ed = np.datetime64("NaT")
    return np.where(through_ed, edreg, not_ed), np.where(through_ed, edout, not_ed)


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


def simulate_icu(rng: np.random.Generator, admissions: Admissions, laid_out_seq: np.ndarray,
                 transfer_first: np.ndarray, adm_arch: np.ndarray, model: PopulationModel) -> IcuStays:
    """ICU time is a share of the admission's care starting early in it; some admissions return to the ICU
    after a ward interval. The ED part of a same-day transfer has none; the chance of a first or a later
    admission follows the admissions as laid out, before transfers were added. Most in-hospital deaths
    happen in the ICU."""
    chance = np.where(laid_out_seq == 0, model.attribute("icu_first")[adm_arch],
                      model.attribute("icu_later")[adm_arch]) * ~transfer_first
    chance = np.where(admissions.died, np.maximum(chance, ICU_SHARE_OF_DEATHS), chance)
    with_icu = np.flatnonzero(rng.random(len(chance)) < chance)
    arch = adm_arch[with_icu]
    care_end = admissions.care_end
    span = (care_end - admissions.admittime)[with_icu].astype(np.int64) / SECONDS_PER_DAY
    share = rng.uniform(model.attribute("icu_fraction_min")[arch], model.attribute("icu_fraction_max")[arch])
    length = share * span
    before = rng.random(len(with_icu)) * (1.0 - share) * span * 0.5
    twice = rng.random(len(with_icu)) < model.attribute("icu_second_stay")[arch]
    # A second stay splits the ICU period: 45 % first, a ward interval, then the last 40 %.
    starts = np.concatenate([before, before[twice] + 0.6 * length[twice]])
    ends = np.concatenate([before + np.where(twice, 0.45, 1.0) * length, before[twice] + length[twice]])
    admission = np.concatenate([with_icu, with_icu[twice]])
    order = np.lexsort((starts, admission))
    admission, starts, ends = admission[order], starts[order], ends[order]
    admit = admissions.admittime[admission]
    intime = admit + seconds(starts)
    outtime = np.minimum(admit + seconds(ends), care_end[admission])
    intime, outtime = icu_edges(rng, admissions, admission, intime, outtime)
    first_unit = vocab.draw_into(rng, vocab.CAREUNITS, len(admission), CAREUNITS)
    moved = rng.random(len(admission)) >= vocab.SAME_LAST_CAREUNIT
    last_unit = np.where(moved, vocab.draw_into(rng, vocab.CAREUNITS, len(admission), CAREUNITS), first_unit)
    return IcuStays(admission, intime, outtime, first_unit, last_unit)


def icu_edges(rng: np.random.Generator, admissions: Admissions, admission: np.ndarray, intime: np.ndarray,
              outtime: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last stay of an admission that ends in death runs to the death (past dischtime when the death was
    recorded after the discharge); a few first stays start minutes before admittime and a few last stays
    end minutes after dischtime (or the death)."""
    size = len(admission)
    boundary = admission[1:] != admission[:-1]
    first, last = np.r_[True, boundary][:size], np.r_[boundary, True][:size]
    to_death = last & admissions.died[admission]
    outtime = np.where(to_death, admissions.deathtime[admission], outtime)
    edge = rng.integers(ICU_EDGE_MINUTES[0] * 60, ICU_EDGE_MINUTES[1] * 60 + 1, size).astype("timedelta64[s]")
    early = first & (rng.random(size) < ICU_EARLY_START_SHARE)
    late = last & ~to_death & (rng.random(size) < ICU_LATE_END_SHARE)
    intime = np.where(early, admissions.admittime[admission] - edge, intime)
    outtime = np.where(late, admissions.care_end[admission] + edge, outtime)
    return intime, outtime
