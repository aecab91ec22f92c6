"""Billed diagnoses of each admission: a principal diagnosis, the patient's chronic conditions, then other
diagnoses, in that sequence.

The principal diagnosis comes from the archetype's acute pools (sepsis, pneumonia, fractures, ...). Every
chronic condition of the patient is billed with probability CHRONIC_CODED. The remaining codes, up to a
per-admission target that grows with the archetype's complexity and the patient's burden, are drawn without
replacement from the archetype's secondary pools (complications, symptoms, status codes, ...). Pools never
share a code and a pool serves one role only, so no admission bills the same code twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator.codes import CodeCatalog
from generator.datafiles import DataFileError, PoolWeight

CHRONIC_CODED = 0.92
BURDEN_ON_CODES = 0.1


@dataclass(frozen=True)
class DiagnosisModel:
    principal: np.ndarray  # archetype x pool, probabilities
    secondary: np.ndarray  # archetype x concept, sampling weights (0: not drawn)
    diagnoses_mean: np.ndarray  # per archetype


@dataclass(frozen=True)
class Diagnoses:
    admission: np.ndarray
    seq_num: np.ndarray
    code_id: np.ndarray


def build_diagnosis_model(catalog: CodeCatalog, weights: tuple[PoolWeight, ...], archetypes: tuple[str, ...],
                          diagnoses_mean: np.ndarray) -> DiagnosisModel:
    n_pools = len(catalog.pool_names)
    principal = np.zeros((len(archetypes), n_pools))
    pool_secondary = np.zeros((len(archetypes), n_pools))
    for weight in weights:
        target = principal if weight.role == "principal" else pool_secondary
        target[archetypes.index(weight.archetype), catalog.pool_index(weight.pool)] += weight.weight
    for row, name in enumerate(archetypes):
        if principal[row].sum() <= 0 or pool_secondary[row].sum() <= 0:
            raise DataFileError(f"archetype_pools.csv gives {name} no principal or no secondary pool")
    principal /= principal.sum(axis=1, keepdims=True)
    secondary = pool_secondary[:, catalog.concept_pool] * catalog.concept_share
    return DiagnosisModel(principal, secondary, diagnoses_mean)


def simulate_diagnoses(rng: np.random.Generator, adm_arch: np.ndarray, adm_burden: np.ndarray,
                       adm_conditions: np.ndarray, is_icd10: np.ndarray, model: DiagnosisModel,
                       catalog: CodeCatalog) -> Diagnoses:
    size = len(adm_arch)
    principal = catalog.sample(draw_pools(rng, adm_arch, model.principal), rng)

    coded = adm_conditions & (rng.random(adm_conditions.shape) < CHRONIC_CODED)
    chronic_adm, chronic_condition = np.nonzero(coded)
    chronic = catalog.sample(chronic_condition, rng)
    chronic_count = np.bincount(chronic_adm, minlength=size)

    mean = model.diagnoses_mean[adm_arch] * np.exp(BURDEN_ON_CODES * adm_burden)
    target = 1 + rng.poisson(np.maximum(mean - 1, 0))
    wanted = np.maximum(target - 1 - chronic_count, 0)
    secondary_adm, secondary_rank, secondary = draw_secondary(rng, adm_arch, wanted, model.secondary)
    secondary_count = np.bincount(secondary_adm, minlength=size)

    counts = 1 + chronic_count + secondary_count
    start = np.cumsum(counts) - counts
    total = int(counts.sum())
    concept = np.empty(total, dtype=np.int64)
    concept[start] = principal
    chronic_rank = np.arange(len(chronic_adm)) - (np.cumsum(chronic_count) - chronic_count)[chronic_adm]
    concept[start[chronic_adm] + 1 + chronic_rank] = chronic
    concept[start[secondary_adm] + 1 + chronic_count[secondary_adm] + secondary_rank] = secondary
    admission = np.repeat(np.arange(size), counts)
    seq_num = np.arange(total) - start[admission] + 1
    return Diagnoses(admission, seq_num, catalog.code_ids(concept, is_icd10[admission].astype(np.int64)))


def draw_pools(rng: np.random.Generator, adm_arch: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    pools = np.empty(len(adm_arch), dtype=np.int64)
    for row in range(probabilities.shape[0]):
        chosen = adm_arch == row
        pools[chosen] = rng.choice(probabilities.shape[1], size=int(chosen.sum()), p=probabilities[row])
    return pools


def draw_secondary(rng: np.random.Generator, adm_arch: np.ndarray, wanted: np.ndarray,
                   weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to `wanted` distinct concepts per admission by weighted sampling without replacement, in draw
    order. Returns (admission, rank within admission, concept)."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for row in range(weights.shape[0]):
        admissions = np.flatnonzero(adm_arch == row)
        candidates = np.flatnonzero(weights[row] > 0)
        take = np.minimum(wanted[admissions], len(candidates))
        if len(admissions) == 0 or take.sum() == 0:
            continue
        # Exponential keys over the weights, smallest first: the Gumbel-top-k form of weighted sampling
        # without replacement, in single precision because only the order matters.
        scale = (1.0 / weights[row, candidates]).astype(np.float32)
        keys = rng.standard_exponential((len(admissions), len(candidates)), dtype=np.float32) * scale
        order = np.argsort(keys, axis=1)
        rows = np.repeat(np.arange(len(admissions)), take)
        rank = np.arange(len(rows)) - np.repeat(np.cumsum(take) - take, take)
        parts.append((admissions[rows], rank, candidates[order[rows, rank]]))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    admission, rank, concept = (np.concatenate([part[column] for part in parts]) for column in range(3))
    return admission, rank, concept
