"""Segment profiles in original units: per segment and feature, the mean, the mean of everyone else and the
standardized mean difference between the two (Cohen's d with the pooled standard deviation).

Means skip NULL values (only `days_since_last_admission` and the Charlson columns can be NULL: patients
without an admission), so they describe the patients the feature applies to. A feature that does not vary
within the segment nor within the rest has no defined standardized difference (NULL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from segmentation.features import CATALOGUE, profile_values

STATISTIC_COLUMNS: tuple[str, ...] = (
    "segment_id", "feature", "segment_size", "segment_share", "segment_mean", "rest_mean", "population_mean",
    "pooled_sd", "standardized_mean_difference",
)


Moments = tuple[np.ndarray, np.ndarray, np.ndarray]


def chunk_moments(features: pd.DataFrame, codes: np.ndarray, n_segments: int) -> Moments:
    """Non-NULL count, sum and sum of squares of every catalogue feature per segment code (segments x
    features) over the rows of one chunk."""
    values = profile_values(features).to_numpy(dtype=float)
    membership = (codes[:, None] == np.arange(n_segments)).astype(float).T
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    return membership @ present, membership @ filled, membership @ (filled * filled)


def add_moments(chunks: Iterable[Moments], n_segments: int) -> Moments:
    """The chunks' moments added up in the order given (the order of the chunks in the population: float sums
    depend on it)."""
    shape = (n_segments, len(CATALOGUE))
    count, total, squares = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for chunk_count, chunk_total, chunk_squares in chunks:
        count += chunk_count
        total += chunk_total
        squares += chunk_squares
    return count, total, squares


def _variance(count: np.ndarray, total: np.ndarray, squares: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (squares - total**2 / count) / (count - 1)
    return np.clip(np.where(count > 1, variance, np.nan), 0.0, None)


def segment_statistics(features: pd.DataFrame, segment_ids: np.ndarray, chunk_size: int) -> pd.DataFrame:
    """One row per segment and catalogue feature (long format, see STATISTIC_COLUMNS), accumulated over row
    chunks so that memory stays bounded on large populations."""
    segments, codes = np.unique(segment_ids, return_inverse=True)
    chunks = (chunk_moments(features.iloc[start:start + chunk_size], codes[start:start + chunk_size],
                            len(segments))
              for start in range(0, len(features), chunk_size))
    moments = add_moments(chunks, len(segments))
    return statistics_from_moments(segments, np.bincount(codes, minlength=len(segments)), moments)


def statistics_from_moments(segments: np.ndarray, sizes: np.ndarray, moments: Moments) -> pd.DataFrame:
    """segment_statistics from each segment's size and moments (`add_moments` over the population)."""
    seg_count, seg_total, seg_squares = moments
    all_count, all_total, all_squares = (moment.sum(axis=0) for moment in moments)
    rest_count = all_count - seg_count
    rest_total = all_total - seg_total
    rest_squares = all_squares - seg_squares
    with np.errstate(invalid="ignore", divide="ignore"):
        seg_mean = seg_total / seg_count
        rest_mean = rest_total / rest_count
        population_mean = np.broadcast_to(all_total / all_count, seg_mean.shape)
        pooled_variance = (
            np.nan_to_num(_variance(seg_count, seg_total, seg_squares) * (seg_count - 1))
            + np.nan_to_num(_variance(rest_count, rest_total, rest_squares) * (rest_count - 1))
        ) / (seg_count + rest_count - 2)
        pooled_sd = np.sqrt(np.where((seg_count > 0) & (rest_count > 0), pooled_variance, np.nan))
        smd = np.where(pooled_sd > 0, (seg_mean - rest_mean) / pooled_sd, np.nan)
    n_features = len(CATALOGUE)
    return pd.DataFrame({
        "segment_id": np.repeat(segments, n_features),
        "feature": np.tile([spec.column for spec in CATALOGUE], len(segments)),
        "segment_size": np.repeat(sizes, n_features),
        "segment_share": np.repeat(sizes / max(int(sizes.sum()), 1), n_features),
        "segment_mean": seg_mean.ravel(),
        "rest_mean": rest_mean.ravel(),
        "population_mean": population_mean.ravel(),
        "pooled_sd": pooled_sd.ravel(),
        "standardized_mean_difference": smd.ravel(),
    }).loc[:, list(STATISTIC_COLUMNS)]


def feature_labels() -> pd.Series:
    return pd.Series({spec.column: spec.label for spec in CATALOGUE}, name="feature_label")


def centroids(statistics: pd.DataFrame, names: pd.Series, clustering_features: Sequence[str]) -> pd.DataFrame:
    """Segment means in original units next to the population mean (segment_centroids)."""
    frame = statistics.assign(
        segment_name=statistics["segment_id"].map(names),
        feature_label=statistics["feature"].map(feature_labels()),
        is_clustering_feature=statistics["feature"].isin(clustering_features),
    )
    return frame.loc[:, ["segment_id", "segment_name", "segment_size", "segment_share", "feature",
                         "feature_label", "is_clustering_feature", "segment_mean", "population_mean"]]


def feature_importance(statistics: pd.DataFrame, names: pd.Series,
                       clustering_features: Sequence[str]) -> pd.DataFrame:
    """Features ranked per segment by absolute standardized mean difference against everyone else."""
    smd = statistics["standardized_mean_difference"]
    frame = statistics.assign(
        segment_name=statistics["segment_id"].map(names),
        feature_label=statistics["feature"].map(feature_labels()),
        is_clustering_feature=statistics["feature"].isin(clustering_features),
        direction=np.select([smd > 0, smd < 0], ["higher", "lower"], default=None),
        magnitude=smd.abs().fillna(-1.0),
    ).sort_values(["segment_id", "magnitude", "feature"], ascending=[True, False, True])
    frame["importance_rank"] = frame.groupby("segment_id").cumcount() + 1
    columns = ["segment_id", "segment_name", "feature", "feature_label", "is_clustering_feature",
               "segment_mean", "rest_mean", "pooled_sd", "standardized_mean_difference", "direction",
               "importance_rank"]
    return frame.loc[:, columns].reset_index(drop=True)
