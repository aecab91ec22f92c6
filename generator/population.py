"""Patients: archetype, latent burden and risk, demographics, anchor years and chronic conditions.

Dates follow MIMIC-IV's de-identification: each patient has a real anchor year drawn uniformly inside one of
the 3-year anchor_year_groups (not at its start) and a shifted anchor_year in 2100-2196; every date of the
patient is shifted by the same whole number of years (`year_shift`), so the real calendar year of any event is
its shifted year minus the shift, as MIMIC's own conventions assume. Only the groups a release reaches occur:
a release ending in 2019 (like the v2.2 demo) has no '2020 - 2022' patients. Patients older than 89 in their
anchor year are shown with anchor_age 91.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator import vocab
from generator.archetypes import Archetype
from generator.datafiles import DataFileError, PackageData

OLDEST_SHOWN_AGE = 89
AGE_SHOWN_FOR_OLDEST = 91
SHIFTED_ANCHOR_YEARS = (2100, 2196)
BEHAVIORAL_FAMILY = "behavioral_health"


def sigmoid(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-values))


def logit(probability: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(probability) - np.log1p(-probability)


@dataclass(frozen=True)
class PopulationModel:
    """Archetype and condition parameters as arrays indexed by archetype and condition."""

    archetypes: tuple[Archetype, ...]
    condition_names: tuple[str, ...]
    condition_families: tuple[str, ...]
    prevalence: np.ndarray  # archetype x condition, at the archetype's mean age, male, average burden
    age_per_decade: np.ndarray
    female_log_odds: np.ndarray
    burden_loading: np.ndarray
    links: np.ndarray  # given x condition, extra log-odds

    @property
    def n_conditions(self) -> int:
        return len(self.condition_names)

    def attribute(self, name: str) -> np.ndarray:
        """One archetype parameter as an array indexed by archetype."""
        return np.array([getattr(archetype, name) for archetype in self.archetypes])

    def family_mask(self, family: str) -> np.ndarray:
        return np.array([candidate == family for candidate in self.condition_families])


def build_model(archetypes: tuple[Archetype, ...], data: PackageData) -> PopulationModel:
    names = tuple(spec.name for spec in data.conditions)
    index = {name: position for position, name in enumerate(names)}
    links = np.zeros((len(names), len(names)))
    for link in data.links:
        links[index[link.given], index[link.condition]] += link.log_odds
    prevalence = np.array([
        [spec.prevalence[archetype.name] for spec in data.conditions] for archetype in archetypes
    ])
    model = PopulationModel(
        archetypes=archetypes,
        condition_names=names,
        condition_families=tuple(spec.family for spec in data.conditions),
        prevalence=prevalence,
        age_per_decade=np.array([spec.age_per_decade for spec in data.conditions]),
        female_log_odds=np.array([spec.female_log_odds for spec in data.conditions]),
        burden_loading=np.array([spec.burden_loading for spec in data.conditions]),
        links=links,
    )
    check_model(model)
    return model


def check_model(model: PopulationModel) -> None:
    total = model.attribute("prevalence").sum()
    if not np.isclose(total, 1.0):
        raise DataFileError(f"archetype prevalences in archetypes.py sum to {total:.4f}, not 1")
    for row, archetype in enumerate(model.archetypes):
        possible = int((model.prevalence[row] > 0).sum())
        if possible < archetype.min_conditions:
            raise DataFileError(f"{archetype.name} needs {archetype.min_conditions} conditions but only "
                                f"{possible} have a prevalence above 0 in conditions.csv")
        family = archetype.required_family
        if family is not None and not (model.prevalence[row] * model.family_mask(family)).any():
            raise DataFileError(f"{archetype.name} requires the {family} family but conditions.csv gives "
                                "none of its conditions a prevalence above 0")


@dataclass(frozen=True)
class Patients:
    archetype: np.ndarray
    burden: np.ndarray
    latent_risk: np.ndarray
    female: np.ndarray
    age: np.ndarray  # real age in the anchor year
    anchor_age: np.ndarray
    anchor_year: np.ndarray
    real_anchor_year: np.ndarray
    anchor_group: np.ndarray
    conditions: np.ndarray  # patient x condition
    language: np.ndarray
    race: np.ndarray
    marital_status: np.ndarray
    insurance_draw: np.ndarray  # one uniform per patient, so insurance only changes with the profile

    @property
    def year_shift(self) -> np.ndarray:
        return self.anchor_year - self.real_anchor_year

    def __len__(self) -> int:
        return len(self.archetype)


def anchor_year_groups(release_end_year: int) -> tuple[np.ndarray, np.ndarray]:
    """Probability of each anchor_year_group in a release ending with `release_end_year`, and the number of
    its real years the release covers. A group the release does not reach never occurs; one it cuts short
    is rarer in proportion, since patients arrive at a steady rate."""
    starts = vocab.FIRST_REAL_YEAR + vocab.GROUP_YEARS * np.arange(len(vocab.ANCHOR_YEAR_GROUPS))
    covered = np.clip(release_end_year - starts + 1, 0, vocab.GROUP_YEARS)
    weights = vocab.probabilities(vocab.ANCHOR_YEAR_GROUPS) * covered
    return weights / weights.sum(), covered


def simulate_patients(rng: np.random.Generator, size: int, model: PopulationModel,
                      release_end_year: int) -> Patients:
    archetype = rng.choice(len(model.archetypes), size=size, p=model.attribute("prevalence"))
    burden = rng.standard_normal(size)
    latent_risk = sigmoid(model.attribute("risk_logit")[archetype]
                          + model.attribute("risk_spread")[archetype] * burden)
    female = rng.random(size) < model.attribute("female_share")[archetype]
    age = draw_ages(rng, archetype, model)
    group_p, covered = anchor_year_groups(release_end_year)
    group = rng.choice(len(group_p), size=size, p=group_p)
    # Uniform over the group's years the release covers.
    within = np.floor(rng.random(size) * covered[group]).astype(np.int64)
    real_anchor_year = vocab.FIRST_REAL_YEAR + vocab.GROUP_YEARS * group + within
    anchor_year = rng.integers(SHIFTED_ANCHOR_YEARS[0], SHIFTED_ANCHOR_YEARS[1] + 1, size)
    conditions = draw_conditions(rng, archetype, age, female, burden, model)
    band = np.searchsorted(vocab.MARITAL_AGE_BANDS, age, side="right")
    marital = np.empty(size, dtype=np.int64)
    for position, pool in enumerate(vocab.MARITAL_STATUS):
        chosen = band == position
        marital[chosen] = vocab.draw_into(rng, pool, int(chosen.sum()), vocab.MARITAL_VALUES)
    return Patients(
        archetype=archetype,
        burden=burden,
        latent_risk=latent_risk,
        female=female,
        age=age,
        anchor_age=np.where(age > OLDEST_SHOWN_AGE, AGE_SHOWN_FOR_OLDEST, age),
        anchor_year=anchor_year,
        real_anchor_year=real_anchor_year,
        anchor_group=group,
        conditions=conditions,
        language=vocab.draw(rng, vocab.LANGUAGES, size),
        race=vocab.draw(rng, vocab.RACES, size),
        marital_status=marital,
        insurance_draw=rng.random(size),
    )


def draw_ages(rng: np.random.Generator, archetype: np.ndarray, model: PopulationModel) -> np.ndarray:
    mean, spread = model.attribute("age_mean")[archetype], model.attribute("age_sd")[archetype]
    ages = np.rint(mean + spread * rng.standard_normal(len(archetype)))
    lowest, highest = model.attribute("age_min")[archetype], model.attribute("age_max")[archetype]
    return np.clip(ages, lowest, highest).astype(np.int64)


def draw_conditions(rng: np.random.Generator, archetype: np.ndarray, age: np.ndarray, female: np.ndarray,
                    burden: np.ndarray, model: PopulationModel) -> np.ndarray:
    """Conditions in conditions.csv order; each one's log-odds rise with age, sex, the latent burden and the
    conditions already drawn (links), so conditions co-occur the way they do clinically."""
    decades = (age - model.attribute("age_mean")[archetype]) / 10.0
    base_logit = logit(model.prevalence)
    conditions = np.zeros((len(archetype), model.n_conditions), dtype=bool)
    for condition in range(model.n_conditions):
        log_odds = (base_logit[archetype, condition] + model.age_per_decade[condition] * decades
                    + model.female_log_odds[condition] * female + model.burden_loading[condition] * burden)
        for given in np.flatnonzero(model.links[:, condition]):
            log_odds = log_odds + model.links[given, condition] * conditions[:, given]
        conditions[:, condition] = rng.random(len(archetype)) < sigmoid(log_odds)
    add_required_family(rng, archetype, conditions, model)
    add_minimum_conditions(rng, archetype, conditions, model)
    return conditions


def add_required_family(rng: np.random.Generator, archetype: np.ndarray, conditions: np.ndarray,
                        model: PopulationModel) -> None:
    for row, spec in enumerate(model.archetypes):
        if spec.required_family is None:
            continue
        family = model.family_mask(spec.required_family)
        lacking = np.flatnonzero((archetype == row) & ~conditions[:, family].any(axis=1))
        weights = np.where(family, model.prevalence[row], 0.0)
        picked = weighted_choice(rng, np.broadcast_to(weights, (len(lacking), len(weights))))
        conditions[lacking, picked] = True


def add_minimum_conditions(rng: np.random.Generator, archetype: np.ndarray, conditions: np.ndarray,
                           model: PopulationModel) -> None:
    """Top up patients below their archetype's minimum with conditions they lack, by prevalence."""
    minimum = model.attribute("min_conditions")[archetype]
    for _ in range(int(minimum.max(initial=0))):
        short = np.flatnonzero(conditions.sum(axis=1) < minimum)
        if len(short) == 0:
            break
        weights = np.where(conditions[short], 0.0, model.prevalence[archetype[short]])
        conditions[short, weighted_choice(rng, weights)] = True


def weighted_choice(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column per row, with probability proportional to the row's weights (Gumbel-max)."""
    with np.errstate(divide="ignore"):
        keys = np.log(weights) - np.log(-np.log(rng.random(weights.shape)))
    return np.argmax(keys, axis=1)
