"""Patient feature frames with known groups, shaped like `marts.patient_features`.

They let the clustering stage be tested and benchmarked without building a warehouse: each patient belongs to
one of a few archetypes with distinct utilization and clinical profiles, and the archetype is returned as the
ground truth. Values are drawn per column for all patients at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# The age bands of patient_features.age_bucket, declared once in the dbt seed.
AGE_BUCKETS_FILE = Path(__file__).resolve().parent.parent / "seeds" / "age_buckets.csv"


@dataclass(frozen=True)
class Archetype:
    name: str
    share: float
    age_mean: float
    age_sd: float
    admission_probability: float
    extra_admissions: float
    los_days: float
    icu_probability: float
    icu_days: float
    chronic_conditions: float
    behavioral_probability: float
    readmission_rate: float
    ed_rate: float
    death_1y_probability: float


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("low_utilizer", 0.40, 38, 12, 0.35, 0.0, 1.5, 0.0, 0.0, 0.05, 0.02, 0.0, 0.3, 0.0),
    Archetype("chronic_stable", 0.22, 62, 9, 1.0, 0.3, 3.0, 0.02, 1.5, 2.5, 0.0, 0.0, 0.4, 0.02),
    Archetype("behavioral_chronic", 0.10, 44, 10, 1.0, 1.0, 4.0, 0.02, 1.5, 2.5, 1.0, 0.1, 0.9, 0.02),
    Archetype("frequent_utilizer", 0.10, 66, 9, 1.0, 4.5, 5.0, 0.1, 2.0, 5.0, 0.1, 0.6, 0.9, 0.10),
    Archetype("acute_icu", 0.08, 57, 12, 1.0, 0.3, 12.0, 1.0, 7.0, 1.0, 0.05, 0.05, 0.8, 0.10),
    Archetype("frail_elderly", 0.10, 87, 3, 1.0, 1.2, 7.0, 0.05, 2.0, 4.0, 0.05, 0.1, 0.7, 0.85),
)

FAMILY_COLUMNS: tuple[str, ...] = (
    "has_cardiometabolic", "has_cardiovascular", "has_respiratory", "has_renal", "has_behavioral_health",
    "has_neurological", "has_cancer", "has_liver",
)


def age_buckets(ages: np.ndarray) -> np.ndarray:
    """The band of each age as the SQL assigns it: the seed's band with the highest min_age not above it."""
    bands = pd.read_csv(AGE_BUCKETS_FILE).sort_values("min_age")
    index = np.searchsorted(bands["min_age"].to_numpy(), ages, side="right") - 1
    return bands["age_bucket"].to_numpy()[np.maximum(index, 0)]


def null_unless(values: np.ndarray, present: np.ndarray) -> pd.Series:
    """Nullable integers, NULL where the contract says so (patients without an admission)."""
    return pd.Series(values, dtype="Int64").where(present)


def make_feature_frame(n_patients: int, seed: int,
                       archetypes: tuple[Archetype, ...] = ARCHETYPES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A patient_features-shaped frame and its truth (subject_id, archetype), in shuffled row order."""
    rng = np.random.default_rng(seed)
    shares = np.array([archetype.share for archetype in archetypes])
    group = rng.choice(len(archetypes), size=n_patients, p=shares / shares.sum())

    def per_patient(attribute: str) -> np.ndarray:
        return np.array([getattr(archetype, attribute) for archetype in archetypes], dtype=float)[group]

    ages = np.clip(rng.normal(per_patient("age_mean"), per_patient("age_sd")), 18, 91).round().astype(int)
    admitted = rng.random(n_patients) < per_patient("admission_probability")
    n_admissions = np.where(admitted, 1 + rng.poisson(per_patient("extra_admissions")), 0)
    has_admission = n_admissions > 0
    n_ed = rng.binomial(n_admissions, np.clip(per_patient("ed_rate"), 0, 1))
    avg_los = np.where(has_admission, rng.gamma(8.0, per_patient("los_days") / 8.0), 0.0)
    icu_stays = np.where(has_admission & (rng.random(n_patients) < per_patient("icu_probability")),
                         1 + rng.binomial(np.maximum(n_admissions - 1, 0), 0.3), 0)
    icu_days = np.where(icu_stays > 0, rng.gamma(6.0, per_patient("icu_days") / 6.0) * icu_stays, 0.0)
    chronic = np.where(has_admission, rng.poisson(per_patient("chronic_conditions")), 0)
    behavioral = has_admission & (rng.random(n_patients) < per_patient("behavioral_probability"))
    chronic = np.maximum(chronic, behavioral.astype(np.int64))
    readmit_30 = rng.binomial(np.maximum(n_admissions - 1, 0), per_patient("readmission_rate"))
    readmit_60 = readmit_30 + rng.binomial(np.maximum(n_admissions - 1 - readmit_30, 0), 0.2)
    readmit_90 = readmit_60 + rng.binomial(np.maximum(n_admissions - 1 - readmit_60, 0), 0.2)
    died_1y = has_admission & (rng.random(n_patients) < per_patient("death_1y_probability"))
    died_in_hospital = died_1y & (rng.random(n_patients) < 0.4)
    families = {column: (chronic > 0) & (rng.random(n_patients) < 0.35) for column in FAMILY_COLUMNS}
    families["has_behavioral_health"] = behavioral
    n_families = np.minimum(np.sum(list(families.values()), axis=0), chronic)
    charlson = np.minimum(chronic + rng.poisson(0.5, n_patients) + (ages >= 50) + (ages >= 70), 20)

    features = pd.DataFrame({
        "subject_id": 10_000_000 + rng.permutation(n_patients),
        "gender": np.where(rng.random(n_patients) < 0.52, "F", "M"),
        "anchor_age": ages,
        "age_at_last_admission": ages,
        "age_bucket": age_buckets(ages),
        "n_admissions": n_admissions,
        "n_emergency_admissions": rng.binomial(n_admissions, 0.6),
        "n_ed_admissions": n_ed,
        "avg_ed_hours": np.where(n_ed > 0, rng.gamma(4.0, 1.5, n_patients), 0.0),
        "avg_los_days": avg_los,
        "total_los_days": avg_los * n_admissions,
        "days_since_last_admission": null_unless(rng.integers(0, 3000, n_patients), has_admission),
        "n_unique_icd_codes": np.where(has_admission,
                                       n_admissions * 6 + chronic * 2 + rng.poisson(3, n_patients), 0),
        "has_chronic_condition": chronic > 0,
        "n_chronic_conditions": chronic,
        "n_chronic_families": n_families,
        **families,
        "charlson_max": null_unless(charlson, has_admission),
        "charlson_latest": null_unless(charlson - rng.integers(0, 2, n_patients).clip(0, charlson),
                                       has_admission),
        # Derived, not drawn, so that adding them left every other column's draws unchanged.
        "elixhauser_comorbidity_count": np.where(has_admission, chronic + charlson // 2, 0),
        "elixhauser_van_walraven_latest": null_unless(3 * charlson - 1, has_admission),
        "ahrq_readmission_index_latest": null_unless(4 * charlson + 2 * readmit_30, has_admission),
        "n_icu_stays": icu_stays,
        "total_icu_days": icu_days,
        "n_readmissions_30d": readmit_30,
        "n_readmissions_60d": readmit_60,
        "n_readmissions_90d": readmit_90,
        "died_in_hospital": died_in_hospital,
        "died_within_1y": died_1y,
        "insurance": rng.choice(np.array(["Medicare", "Medicaid", "Other"]), n_patients),
        "language": np.where(rng.random(n_patients) < 0.9, "ENGLISH", "?"),
        "marital_status": rng.choice(np.array(["SINGLE", "MARRIED", "WIDOWED", "DIVORCED"]), n_patients),
        "race": rng.choice(np.array(["WHITE", "BLACK/AFRICAN AMERICAN", "ASIAN", "OTHER"]), n_patients),
    })
    names = np.array([archetype.name for archetype in archetypes])
    truth = pd.DataFrame({"subject_id": features["subject_id"], "archetype": names[group]})
    return features, truth


def stand_in_rule_segments(features: pd.DataFrame) -> pd.DataFrame:
    """A stand-in for marts.patient_rule_segments on a synthetic frame: admitted patients or not."""
    admitted = features["n_admissions"].to_numpy() > 0
    return pd.DataFrame({"subject_id": features["subject_id"].to_numpy(),
                         "segment_priority": np.where(admitted, 5, 7),
                         "segment_name": np.where(admitted, "Chronic conditions", "No hospital use")})
