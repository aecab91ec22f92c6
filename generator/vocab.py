"""MIMIC-IV's categorical values with the weights the generator draws them with.

Values are spelled exactly as MIMIC-IV spells them (see the reference notes on the raw tables); weights are
relative and normalized where they are used. Provider identifiers come from Faker, seeded, in MIMIC's shape
('P' and five upper-case letters or digits).
"""

from __future__ import annotations

import string

import numpy as np

Pool = tuple[tuple[str | None, float], ...]

ANCHOR_YEAR_GROUPS: Pool = (
    ("2008 - 2010", 0.27), ("2011 - 2013", 0.24), ("2014 - 2016", 0.22), ("2017 - 2019", 0.19),
    ("2020 - 2022", 0.08),
)
FIRST_REAL_YEAR = 2008
GROUP_YEARS = 3
# Last real year of a release: v1.0-v2.2 (the open demo among them) end in 2019, v3.0-v3.1 in 2022.
RELEASE_END_YEARS = (2019, 2022)
DEFAULT_RELEASE_END_YEAR = 2022

# Admissions through the ED, and the rest.
ED_ADMISSION_TYPES: Pool = (
    ("EW EMER.", 0.70), ("EU OBSERVATION", 0.14), ("OBSERVATION ADMIT", 0.10), ("URGENT", 0.06),
)
DIRECT_ADMISSION_TYPES: Pool = (
    ("ELECTIVE", 0.28), ("SURGICAL SAME DAY ADMISSION", 0.20), ("URGENT", 0.16), ("DIRECT EMER.", 0.12),
    ("DIRECT OBSERVATION", 0.10), ("OBSERVATION ADMIT", 0.08), ("AMBULATORY OBSERVATION", 0.06),
)
OBSERVATION_TYPES: tuple[str, ...] = (
    "OBSERVATION ADMIT", "EU OBSERVATION", "DIRECT OBSERVATION", "AMBULATORY OBSERVATION",
)
# A same-day transfer: a short admission through the ED, then minutes later an inpatient admission.
TRANSFER_FIRST_TYPES: Pool = (("EU OBSERVATION", 0.6), ("EW EMER.", 0.4))
TRANSFER_NEXT_TYPES: Pool = (
    ("URGENT", 0.45), ("DIRECT EMER.", 0.30), ("ELECTIVE", 0.15), ("SURGICAL SAME DAY ADMISSION", 0.10),
)
ED_ADMISSION_LOCATIONS: Pool = (("EMERGENCY ROOM", 0.97), ("WALK-IN/SELF REFERRAL", 0.03))
DIRECT_ADMISSION_LOCATIONS: Pool = (
    ("PHYSICIAN REFERRAL", 0.42), ("TRANSFER FROM HOSPITAL", 0.20), ("CLINIC REFERRAL", 0.10),
    ("PROCEDURE SITE", 0.08), ("PACU", 0.06), ("TRANSFER FROM SKILLED NURSING FACILITY", 0.05),
    ("WALK-IN/SELF REFERRAL", 0.04), ("INFORMATION NOT AVAILABLE", 0.03),
    ("INTERNAL TRANSFER TO OR FROM PSYCH", 0.02),
)

DIED = "DIED"
# Where survivors go, by archetype; None is MIMIC's NULL discharge_location.
DISCHARGE_LOCATIONS: dict[str, Pool] = {
    "healthy_low_utilizer": (
        ("HOME", 0.62), (None, 0.28), ("HOME HEALTH CARE", 0.05), ("AGAINST ADVICE", 0.02), ("REHAB", 0.01),
        ("ACUTE HOSPITAL", 0.01),
    ),
    "chronic_stable": (
        ("HOME", 0.45), (None, 0.22), ("HOME HEALTH CARE", 0.20), ("SKILLED NURSING FACILITY", 0.06),
        ("REHAB", 0.03), ("AGAINST ADVICE", 0.01), ("ACUTE HOSPITAL", 0.01),
        ("CHRONIC/LONG TERM ACUTE CARE", 0.005),
    ),
    "multimorbid_frequent_utilizer": (
        ("HOME HEALTH CARE", 0.35), ("HOME", 0.25), ("SKILLED NURSING FACILITY", 0.20), ("REHAB", 0.06),
        (None, 0.05), ("CHRONIC/LONG TERM ACUTE CARE", 0.03), ("AGAINST ADVICE", 0.02),
        ("ACUTE HOSPITAL", 0.02), ("HOSPICE", 0.02),
    ),
    "acute_icu_intensive": (
        ("HOME", 0.20), ("HOME HEALTH CARE", 0.20), ("SKILLED NURSING FACILITY", 0.20), ("REHAB", 0.20),
        ("CHRONIC/LONG TERM ACUTE CARE", 0.12), ("ACUTE HOSPITAL", 0.04), ("HOSPICE", 0.04),
    ),
    "behavioral_health_chronic": (
        ("HOME", 0.50), ("PSYCH FACILITY", 0.15), (None, 0.15), ("AGAINST ADVICE", 0.12),
        ("HOME HEALTH CARE", 0.05), ("SKILLED NURSING FACILITY", 0.02), ("ACUTE HOSPITAL", 0.01),
    ),
    "frail_elderly_end_of_life": (
        ("SKILLED NURSING FACILITY", 0.36), ("HOME HEALTH CARE", 0.25), ("HOSPICE", 0.12), ("HOME", 0.10),
        ("REHAB", 0.08), ("CHRONIC/LONG TERM ACUTE CARE", 0.04), ("ASSISTED LIVING", 0.02), (None, 0.03),
    ),
}

# Insurance by profile: patients 65 or older at the admission, younger patients of the behavioral health
# archetype, other younger patients.
INSURANCE_SENIOR: Pool = (("Medicare", 0.82), ("Private", 0.08), ("Other", 0.06), ("Medicaid", 0.04))
INSURANCE_BEHAVIORAL: Pool = (
    ("Medicaid", 0.55), ("Medicare", 0.15), ("Private", 0.15), ("Other", 0.13), ("No charge", 0.02),
)
INSURANCE_WORKING_AGE: Pool = (
    ("Private", 0.42), ("Other", 0.30), ("Medicaid", 0.18), ("Medicare", 0.08), ("No charge", 0.02),
)
MEDICARE_AGE = 65

LANGUAGES: Pool = (
    ("ENGLISH", 0.885), ("?", 0.035), ("SPANISH", 0.03), ("CHINESE", 0.012), ("RUSSIAN", 0.01),
    ("PORTUGUESE", 0.006), ("OTHER", 0.006), ("KABUVERDIANU", 0.005), ("HAITIAN", 0.005),
    ("VIETNAMESE", 0.004), ("ARABIC", 0.002),
)

# Marital status by age band in the anchor year: under 35, 35-64, 65 and older.
MARITAL_AGE_BANDS: tuple[int, ...] = (35, 65)
MARITAL_STATUS: tuple[Pool, ...] = (
    (("SINGLE", 0.72), ("MARRIED", 0.20), ("DIVORCED", 0.03), (None, 0.05)),
    (("MARRIED", 0.45), ("SINGLE", 0.32), ("DIVORCED", 0.13), ("WIDOWED", 0.03), (None, 0.07)),
    (("MARRIED", 0.42), ("WIDOWED", 0.30), ("SINGLE", 0.12), ("DIVORCED", 0.10), (None, 0.06)),
)

RACES: Pool = (
    ("WHITE", 0.55), ("BLACK/AFRICAN AMERICAN", 0.11), ("UNKNOWN", 0.045), ("OTHER", 0.04),
    ("WHITE - OTHER EUROPEAN", 0.025), ("HISPANIC/LATINO - PUERTO RICAN", 0.02), ("ASIAN", 0.015),
    ("ASIAN - CHINESE", 0.015), ("HISPANIC/LATINO - DOMINICAN", 0.015), ("WHITE - RUSSIAN", 0.012),
    ("BLACK/CAPE VERDEAN", 0.012), ("HISPANIC OR LATINO", 0.012), ("UNABLE TO OBTAIN", 0.008),
    ("BLACK/CARIBBEAN ISLAND", 0.008), ("PATIENT DECLINED TO ANSWER", 0.006),
    ("WHITE - EASTERN EUROPEAN", 0.006), ("BLACK/AFRICAN", 0.006), ("WHITE - BRAZILIAN", 0.005),
    ("HISPANIC/LATINO - GUATEMALAN", 0.005), ("ASIAN - SOUTH EAST ASIAN", 0.004),
    ("ASIAN - ASIAN INDIAN", 0.004), ("HISPANIC/LATINO - SALVADORAN", 0.004),
    ("PORTUGUESE", 0.004), ("HISPANIC/LATINO - COLUMBIAN", 0.003), ("HISPANIC/LATINO - MEXICAN", 0.003),
    ("AMERICAN INDIAN/ALASKA NATIVE", 0.003), ("HISPANIC/LATINO - CUBAN", 0.002),
    ("HISPANIC/LATINO - HONDURAN", 0.002), ("HISPANIC/LATINO - CENTRAL AMERICAN", 0.002),
    ("SOUTH AMERICAN", 0.002), ("ASIAN - KOREAN", 0.002), ("MULTIPLE RACE/ETHNICITY", 0.002),
    ("NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER", 0.001),
)

CAREUNITS: Pool = (
    ("Medical Intensive Care Unit (MICU)", 0.28), ("Medical/Surgical Intensive Care Unit (MICU/SICU)", 0.20),
    ("Cardiac Vascular Intensive Care Unit (CVICU)", 0.14), ("Surgical Intensive Care Unit (SICU)", 0.12),
    ("Coronary Care Unit (CCU)", 0.11), ("Trauma SICU (TSICU)", 0.09),
    ("Neuro Surgical Intensive Care Unit (Neuro SICU)", 0.04), ("Neuro Intermediate", 0.015),
    ("Neuro Stepdown", 0.005),
)
SAME_LAST_CAREUNIT = 0.9

MARITAL_VALUES: list[str] = list(dict.fromkeys(
    value for pool in MARITAL_STATUS for value, _ in pool if value is not None
))

PROVIDER_POOL_SIZE = 1500
PROVIDER_ALPHABET = string.ascii_uppercase + string.digits


def values(pool: Pool) -> list[str | None]:
    return [value for value, _ in pool]


def probabilities(pool: Pool) -> np.ndarray:
    weights = np.array([weight for _, weight in pool], dtype=np.float64)
    return weights / weights.sum()


def draw(rng: np.random.Generator, pool: Pool, size: int) -> np.ndarray:
    """Indices into `pool`."""
    return rng.choice(len(pool), size=size, p=probabilities(pool))


def partition(pool: Pool, chosen: tuple[str, ...]) -> tuple[Pool, Pool]:
    """The pool's entries whose value is among `chosen`, and the others, with their weights."""
    return (tuple(entry for entry in pool if entry[0] in chosen),
            tuple(entry for entry in pool if entry[0] not in chosen))


def universe(*pools: Pool) -> list[str]:
    """The distinct non-NULL values of several pools, in first-seen order."""
    return list(dict.fromkeys(value for pool in pools for value in values(pool) if value is not None))


def draw_into(rng: np.random.Generator, pool: Pool, size: int, universe_values: list[str]) -> np.ndarray:
    """Draws from `pool` as indices into `universe_values` (-1 for NULL)."""
    mapping = np.array([-1 if value is None else universe_values.index(value) for value in values(pool)])
    return mapping[draw(rng, pool, size)]


def provider_ids(seed: int, size: int = PROVIDER_POOL_SIZE) -> list[str]:
    """Distinct admitting-provider identifiers like MIMIC's 'P03YMR', the same for the same seed."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    pool: dict[str, None] = {}
    while len(pool) < size:
        pool[fake.bothify("P?????", letters=PROVIDER_ALPHABET)] = None
    return list(pool)
