"""The per-patient work of `patient_segments` on a population held in parts (an engine's partitions), with
the rows `segmentation.pipeline.segment_patients` gives on the whole frame, to the last bit.

Each function here is what an engine runs on one part, or what the driver makes of the parts' small results;
they exchange pandas frames. Every step of `segment_patients` either works patient by patient, or adds
values over the population; float sums depend on the order of their terms, so each sum is taken in the same
order here:

- the standardization's column sums add the patients one after another in subject_id order (`add_rows`):
  `scan_batches` and `squared_deviation_batches` fold the patients streamed in that order (one part, sorted)
  and pick the rows at given positions on the way (the seeded sample, the first patient of every chunk);
- labelling multiplies a whole chunk of `clustering_chunk_size` patients at a time, and BLAS rounds a row's
  distances differently with other rows beside it, so each chunk of the population (`chunk_numbers`) is
  labelled as one part by `label_chunk`;
- segment profiles add per-chunk moments (`chunk_moment_rows`) in chunk order (`statistics_of_chunks`).

Counts and maxima (the NULL fill of `days_since_last_admission`, `batch_maxima`) do not depend on any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmentation.algorithms import Assignment
from segmentation.config import ClusteringConfig
from segmentation.features import (
    CATALOGUE,
    SOURCE_NAME,
    FeatureError,
    Standardization,
    add_rows,
    column_maxima,
    feature_spec,
    null_fills,
    squared_deviations,
    transformed_matrix,
    validate_patient_frame,
)
from segmentation.pipeline import label_patients, sample_rows, segment_frame
from segmentation.profiles import add_moments, chunk_moments, statistics_from_moments
from segmentation.stored import sample_fingerprint

SUMS = "sums"
ROW = "row"
MOMENTS = ("count", "total", "squares")


# --- size and NULL fills (any part, any order) -----------------------------------------------------------

def batch_maxima(batches: Iterable[pd.DataFrame], columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    """Per batch: its number of patients and its `column_maxima`."""
    specs = [feature_spec(column) for column in columns]
    for batch in batches:
        yield pd.DataFrame({"patients": [len(batch)], "maxima": [column_maxima(batch, specs).tolist()]})


def population_fills(maxima: pd.DataFrame, columns: Sequence[str]) -> tuple[int, np.ndarray]:
    """The population's size and NULL fills from every batch's `batch_maxima` (the maximum of the parts'
    maxima is the population's)."""
    specs = [feature_spec(column) for column in columns]
    parts = [np.array(part, dtype=float) for part in maxima["maxima"]]
    combined = np.fmax.reduce(np.vstack(parts), axis=0) if parts else np.full(len(specs), np.nan)
    return int(maxima["patients"].sum()), null_fills(combined, specs)


# --- the ordered passes (one part, sorted by subject_id) -------------------------------------------------

def in_subject_order(batches: Iterable[pd.DataFrame], columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    """The batches, checked to hold each patient once in ascending subject_id across all of them."""
    last: int | None = None
    for batch in batches:
        if batch.empty:
            continue
        if not batch["subject_id"].is_monotonic_increasing:
            raise RuntimeError("patients must arrive in subject_id order")
        batch = validate_patient_frame(batch, columns)
        first = int(batch["subject_id"].iloc[0])
        if last is not None and first == last:
            raise FeatureError(f"{SOURCE_NAME}.subject_id is not unique: [{first}] appears more than once")
        if last is not None and first < last:
            raise RuntimeError("patients must arrive in subject_id order")
        last = int(batch["subject_id"].iloc[-1])
        yield batch


def wanted_positions(n_patients: int, config: ClusteringConfig) -> np.ndarray:
    """The positions (0 = first in subject_id order) the first ordered pass keeps: the seeded sample and the
    first patient of every chunk."""
    return np.union1d(sample_rows(n_patients, config), np.arange(0, n_patients, config.chunk_size))


def scan_batches(batches: Iterable[pd.DataFrame], columns: Sequence[str], fills: np.ndarray,
                 wanted: np.ndarray) -> Iterator[pd.DataFrame]:
    """The first ordered pass: a row of the column sums of the transformed features (its position is the
    number of patients), then the subject_id and transformed features of the patients at the `wanted`
    positions."""
    specs = [feature_spec(column) for column in columns]
    total: np.ndarray | None = None
    start = 0
    for batch in in_subject_order(batches, columns):
        transformed = transformed_matrix(batch, specs, fills)
        total = add_rows(total, transformed)
        rows = wanted[(wanted >= start) & (wanted < start + len(batch))] - start
        if len(rows):
            yield pd.DataFrame({"kind": ROW, "position": rows + start,
                                "subject_id": batch["subject_id"].to_numpy(dtype=np.int64)[rows],
                                "transformed": transformed[rows].tolist()})
        start += len(batch)
    sums = np.zeros(len(columns)) if total is None else total
    yield pd.DataFrame({"kind": [SUMS], "position": [start], "subject_id": [-1],
                        "transformed": [sums.tolist()]})


def squared_deviation_batches(batches: Iterable[pd.DataFrame], columns: Sequence[str], fills: np.ndarray,
                              means: np.ndarray) -> Iterator[pd.DataFrame]:
    """The second ordered pass: the column sums of the squared deviations from the population's means."""
    specs = [feature_spec(column) for column in columns]
    total: np.ndarray | None = None
    for batch in in_subject_order(batches, columns):
        total = add_rows(total, squared_deviations(transformed_matrix(batch, specs, fills), means))
    sums = np.zeros(len(columns)) if total is None else total
    yield pd.DataFrame({"transformed": [sums.tolist()]})


@dataclass(frozen=True)
class Scan:
    """The first ordered pass read back: the population size, the column sums of the transformed features,
    and the kept patients by position."""

    n_patients: int
    sums: np.ndarray
    positions: np.ndarray
    subject_ids: np.ndarray
    transformed: np.ndarray

    @classmethod
    def of(cls, scanned: pd.DataFrame, width: int) -> Scan:
        sums = scanned[scanned["kind"] == SUMS].iloc[0]
        rows = scanned[scanned["kind"] == ROW].sort_values("position")
        return cls(
            n_patients=int(sums["position"]),
            sums=np.array(sums["transformed"], dtype=float),
            positions=rows["position"].to_numpy(dtype=np.int64),
            subject_ids=rows["subject_id"].to_numpy(dtype=np.int64),
            transformed=np.array(rows["transformed"].tolist(), dtype=float).reshape(-1, width),
        )


@dataclass(frozen=True)
class ScannedPopulation:
    """What the ordered passes give: the population's standardization, its seeded sample (as `prepare` draws
    and standardizes it) and the first subject_id of every chunk."""

    n_patients: int
    standardization: Standardization
    sample_subject_ids: np.ndarray
    sample_values: np.ndarray
    chunk_starts: np.ndarray

    @property
    def fingerprint(self) -> str:
        return sample_fingerprint(self.n_patients, self.sample_subject_ids, self.sample_values)


def scanned_population(scan: Scan, squared_deviation_sums: np.ndarray, fills: np.ndarray,
                       config: ClusteringConfig) -> ScannedPopulation:
    standardization = Standardization.from_sums(config.features, fills, scan.n_patients, scan.sums,
                                                squared_deviation_sums)
    sample = np.searchsorted(scan.positions, sample_rows(scan.n_patients, config))
    starts = np.searchsorted(scan.positions, np.arange(0, scan.n_patients, config.chunk_size))
    return ScannedPopulation(
        n_patients=scan.n_patients,
        standardization=standardization,
        sample_subject_ids=scan.subject_ids[sample],
        sample_values=standardization.standardize(scan.transformed[sample]),
        chunk_starts=scan.subject_ids[starts],
    )


# --- chunks: labels and segment moments (one chunk per part, rows in any order) --------------------------

def chunk_numbers(subject_ids: np.ndarray, chunk_starts: np.ndarray) -> np.ndarray:
    """Each patient's chunk (0, 1, ...) from the first subject_id of every chunk, in order."""
    return np.searchsorted(chunk_starts, subject_ids, side="right") - 1


def label_chunk(chunk: pd.DataFrame, standardization: Standardization, assignments: dict[str, Assignment],
                config: ClusteringConfig) -> pd.DataFrame:
    """subject_id, chunk and each algorithm's label of the patients of one chunk."""
    return label_patients(chunk, standardization, assignments, config).assign(chunk=chunk["chunk"].iloc[0])


def chunk_moment_rows(chunk: pd.DataFrame, segments: np.ndarray) -> pd.DataFrame:
    """Per segment (`segments`: every segment id of the population, sorted): its number of patients in one
    chunk of patients with their `segment_id`, and their moments (segmentation.profiles.chunk_moments)."""
    frame = validate_patient_frame(chunk, ["segment_id", *(spec.column for spec in CATALOGUE)])
    codes = np.searchsorted(segments, frame["segment_id"].to_numpy())
    moments = chunk_moments(frame, codes, len(segments))
    return pd.DataFrame({"chunk": chunk["chunk"].iloc[0], "segment": np.arange(len(segments)),
                         "patients": np.bincount(codes, minlength=len(segments)),
                         **{name: moment.tolist() for name, moment in zip(MOMENTS, moments, strict=True)}})


def statistics_of_chunks(rows: pd.DataFrame, segments: np.ndarray) -> pd.DataFrame:
    """segmentation.profiles.segment_statistics from every chunk's `chunk_moment_rows`, added in chunk
    order."""
    ordered = rows.sort_values(["chunk", "segment"])
    chunks = [tuple(np.array(part[name].tolist(), dtype=float).reshape(len(segments), len(CATALOGUE))
                    for name in MOMENTS)
              for _, part in ordered.groupby("chunk", sort=True)]
    sizes = ordered.groupby("segment")["patients"].sum().reindex(range(len(segments)), fill_value=0)
    return statistics_from_moments(segments, sizes.to_numpy(dtype=np.int64),
                                   add_moments(chunks, len(segments)))


# --- patient_segments' rows (any part) --------------------------------------------------------------------

def segment_rows(batches: Iterable[pd.DataFrame], names: pd.Series, selected: str | None,
                 label_columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    """`segment_frame` of batches of patients with their segment_id and each configured algorithm's label."""
    for batch in batches:
        labels = {column: batch[column].to_numpy(dtype=np.int64) for column in label_columns}
        yield segment_frame(batch["subject_id"].to_numpy(), batch["segment_id"].to_numpy(dtype=np.int64),
                            names, labels, selected)
