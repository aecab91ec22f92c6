"""The diagnosis codes the generator can bill: concepts with an ICD-9-CM and an ICD-10-CM code, in pools.

Pools are the chronic conditions (their index is the condition's index in the population model) followed by
the acute and secondary pools of acute_codes.csv. An admission bills a concept in the ICD version of its real
date, so the code of concept `i` is `codes[2 * i]` under ICD-9 and `codes[2 * i + 1]` under ICD-10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator.datafiles import CodeConcept, PackageData


@dataclass(frozen=True)
class CodeCatalog:
    pool_names: tuple[str, ...]
    # Concepts are ordered by pool; each pool's concepts are contiguous.
    concept_pool: np.ndarray
    concept_share: np.ndarray
    # pool index + cumulative share within the pool: searchsorted(pool + u) picks a concept of that pool.
    concept_cumulative: np.ndarray
    codes: tuple[str, ...]

    def pool_index(self, name: str) -> int:
        return self.pool_names.index(name)

    def sample(self, pools: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One concept of each given pool, by the pools' concept weights."""
        return np.searchsorted(self.concept_cumulative, pools + rng.random(len(pools)), side="right")

    def code_ids(self, concepts: np.ndarray, is_icd10: np.ndarray) -> np.ndarray:
        return 2 * concepts + is_icd10

    def codes_of_version(self, version: int) -> list[str]:
        return list(self.codes[version == 10 :: 2])


def build_catalog(data: PackageData) -> CodeCatalog:
    condition_names = [spec.name for spec in data.conditions]
    acute_names = list(dict.fromkeys(concept.pool for concept in data.acute_codes))
    pool_names = tuple(condition_names + acute_names)
    order = {name: index for index, name in enumerate(pool_names)}
    concepts: list[CodeConcept] = sorted(data.condition_codes + data.acute_codes,
                                         key=lambda concept: order[concept.pool])
    concept_pool = np.array([order[concept.pool] for concept in concepts], dtype=np.int64)
    weights = np.array([concept.weight for concept in concepts], dtype=np.float64)
    pool_totals = np.bincount(concept_pool, weights=weights, minlength=len(pool_names))
    share = weights / pool_totals[concept_pool]
    running = np.cumsum(share)
    first = np.searchsorted(concept_pool, concept_pool, side="left")
    within = running - running[first] + share[first]
    # Each pool ends exactly at pool + 1, so a draw pool + u with 0 <= u < 1 never leaves its pool.
    last = np.r_[concept_pool[1:] != concept_pool[:-1], True]
    within[last] = 1.0
    codes = tuple(code for concept in concepts for code in (concept.icd9_code, concept.icd10_code))
    return CodeCatalog(pool_names, concept_pool, share, concept_pool + within, codes)
