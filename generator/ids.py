"""MIMIC-style identifiers: 8-digit numbers in fixed ranges, unique, scattered like MIMIC's.

The n-th patient (admission, ICU stay) of the whole generation gets base + (a * n + b) mod RANGE_SIZE, with a
coprime to RANGE_SIZE: a bijection, so identifiers never collide however the population is chunked, and the
same seed always gives the same identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RANGE_SIZE = 10_000_000
SUBJECT_BASE = 10_000_000
HADM_BASE = 20_000_000
STAY_BASE = 30_000_000


@dataclass(frozen=True)
class IdScramble:
    base: int
    multiplier: int
    offset: int

    def ids(self, first: int, count: int) -> np.ndarray:
        """Identifiers of items first .. first + count - 1."""
        if first + count > RANGE_SIZE:
            raise OverflowError(f"more than {RANGE_SIZE:,} identifiers needed from {self.base:,}")
        index = np.arange(first, first + count, dtype=np.int64)
        return (self.base + (index * self.multiplier + self.offset) % RANGE_SIZE).astype(np.int32)


def scramble(rng: np.random.Generator, base: int) -> IdScramble:
    multiplier = int(rng.integers(RANGE_SIZE // 10, RANGE_SIZE))
    # RANGE_SIZE = 2^7 * 5^7, so any multiplier that is odd and not a multiple of 5 is coprime to it.
    while multiplier % 2 == 0 or multiplier % 5 == 0:
        multiplier += 1
    return IdScramble(base, multiplier, int(rng.integers(0, RANGE_SIZE)))
