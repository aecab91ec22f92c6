"""The latent population model: six patient archetypes, each with its prevalence and utilization profile.

Archetypes are deliberately distinct in the patient-level quantities a care-management team looks at
(admissions and their spacing, length of stay, ICU use, chronic burden, age, ED use, mortality), so that a
segmentation of the generated data can be scored against them. Within an archetype a patient's latent burden
(a standard normal draw) raises their number of conditions, admissions, readmissions, length of stay and
mortality together; `latent_risk` is that burden mapped to 0-1 around the archetype's own risk level.

Chronic condition prevalences by archetype live in data/conditions.csv and the diagnosis pools each archetype
draws from in data/archetype_pools.csv; this module holds the numeric utilization profile.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Archetype:
    name: str
    label: str
    description: str
    prevalence: float
    # Real age in the anchor year: a normal draw clipped to [age_min, age_max].
    age_mean: float
    age_sd: float
    age_min: int
    age_max: int
    female_share: float
    # latent_risk = sigmoid(risk_logit + risk_spread * burden).
    risk_logit: float
    risk_spread: float
    min_conditions: int
    # A condition family every patient of the archetype has (None: no such requirement).
    required_family: str | None
    # Admissions = admissions_min + Binomial(admissions_extra, p), p rising with the burden.
    admissions_min: int
    admissions_extra: int
    admissions_extra_p: float
    # Chance that a later admission starts within 30 days of the previous discharge; other gaps are
    # 30 days plus a lognormal with this median.
    readmit_30d: float
    gap_median_days: float
    los_median_days: float
    los_sigma: float
    ed_share: float
    icu_first: float
    icu_later: float
    icu_second_stay: float
    icu_fraction_min: float
    icu_fraction_max: float
    # Chance of dying during the last admission, and of dying within a year of it for those who survive it.
    death_in_hospital: float
    death_after_discharge: float
    diagnoses_mean: float


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        name="healthy_low_utilizer", label="Healthy low utilizer",
        description="Younger adults without chronic disease; most never admitted, the rest once and briefly",
        prevalence=0.44, age_mean=37.0, age_sd=11.0, age_min=18, age_max=70, female_share=0.55,
        risk_logit=-2.6, risk_spread=0.35, min_conditions=0, required_family=None,
        admissions_min=0, admissions_extra=1, admissions_extra_p=0.2,
        readmit_30d=0.0, gap_median_days=400.0, los_median_days=1.6, los_sigma=0.45, ed_share=0.45,
        icu_first=0.0, icu_later=0.0, icu_second_stay=0.0, icu_fraction_min=0.2, icu_fraction_max=0.4,
        death_in_hospital=0.0, death_after_discharge=0.0, diagnoses_mean=5.0,
    ),
    Archetype(
        name="chronic_stable", label="Chronic stable",
        description="Middle-aged to older adults with two or three controlled cardiometabolic conditions; "
                    "one or two admissions far apart",
        prevalence=0.25, age_mean=62.0, age_sd=8.0, age_min=40, age_max=85, female_share=0.5,
        risk_logit=-1.0, risk_spread=0.35, min_conditions=2, required_family=None,
        admissions_min=1, admissions_extra=1, admissions_extra_p=0.45,
        readmit_30d=0.02, gap_median_days=420.0, los_median_days=3.2, los_sigma=0.45, ed_share=0.45,
        icu_first=0.04, icu_later=0.04, icu_second_stay=0.0, icu_fraction_min=0.2, icu_fraction_max=0.4,
        death_in_hospital=0.008, death_after_discharge=0.01, diagnoses_mean=9.5,
    ),
    Archetype(
        name="multimorbid_frequent_utilizer", label="Multimorbid frequent utilizer",
        description="Older adults with heart, kidney and lung disease on top of cardiometabolic conditions; "
                    "four to eight admissions in quick succession, many readmissions within 30 days",
        prevalence=0.085, age_mean=68.0, age_sd=8.0, age_min=45, age_max=88, female_share=0.45,
        risk_logit=0.7, risk_spread=0.4, min_conditions=4, required_family=None,
        admissions_min=4, admissions_extra=4, admissions_extra_p=0.5,
        readmit_30d=0.55, gap_median_days=55.0, los_median_days=5.0, los_sigma=0.4, ed_share=0.85,
        icu_first=0.18, icu_later=0.18, icu_second_stay=0.05, icu_fraction_min=0.2, icu_fraction_max=0.4,
        death_in_hospital=0.035, death_after_discharge=0.06, diagnoses_mean=13.5,
    ),
    Archetype(
        name="acute_icu_intensive", label="Acute ICU-intensive",
        description="Adults of any age hit by a critical illness or injury (sepsis, respiratory failure, "
                    "stroke, trauma); one or two long admissions with long ICU stays and high in-hospital "
                    "mortality",
        prevalence=0.085, age_mean=57.0, age_sd=13.0, age_min=20, age_max=85, female_share=0.42,
        risk_logit=0.3, risk_spread=0.4, min_conditions=0, required_family=None,
        admissions_min=1, admissions_extra=1, admissions_extra_p=0.25,
        readmit_30d=0.1, gap_median_days=250.0, los_median_days=11.0, los_sigma=0.35, ed_share=0.75,
        icu_first=1.0, icu_later=0.4, icu_second_stay=0.2, icu_fraction_min=0.45, icu_fraction_max=0.8,
        death_in_hospital=0.12, death_after_discharge=0.03, diagnoses_mean=16.0,
    ),
    Archetype(
        name="behavioral_health_chronic", label="Behavioral health with chronic disease",
        description="Younger adults with depression, anxiety, serious mental illness or substance use and "
                    "somatic conditions; repeated short admissions through the ED",
        prevalence=0.075, age_mean=40.0, age_sd=10.0, age_min=18, age_max=70, female_share=0.48,
        risk_logit=-0.5, risk_spread=0.35, min_conditions=2, required_family="behavioral_health",
        admissions_min=2, admissions_extra=2, admissions_extra_p=0.5,
        readmit_30d=0.3, gap_median_days=110.0, los_median_days=3.0, los_sigma=0.45, ed_share=0.92,
        icu_first=0.03, icu_later=0.03, icu_second_stay=0.0, icu_fraction_min=0.2, icu_fraction_max=0.4,
        death_in_hospital=0.005, death_after_discharge=0.012, diagnoses_mean=9.5,
    ),
    Archetype(
        name="frail_elderly_end_of_life", label="Frail elderly near end of life",
        description="The oldest patients, with dementia, heart failure and kidney disease; two to four "
                    "admissions and most die in hospital or within a year of their last discharge",
        prevalence=0.065, age_mean=87.0, age_sd=4.5, age_min=78, age_max=100, female_share=0.6,
        risk_logit=1.3, risk_spread=0.4, min_conditions=3, required_family=None,
        admissions_min=2, admissions_extra=2, admissions_extra_p=0.4,
        readmit_30d=0.25, gap_median_days=100.0, los_median_days=6.5, los_sigma=0.4, ed_share=0.85,
        icu_first=0.15, icu_later=0.15, icu_second_stay=0.0, icu_fraction_min=0.2, icu_fraction_max=0.4,
        death_in_hospital=0.35, death_after_discharge=0.85, diagnoses_mean=13.5,
    ),
)

ARCHETYPE_NAMES: tuple[str, ...] = tuple(archetype.name for archetype in ARCHETYPES)
