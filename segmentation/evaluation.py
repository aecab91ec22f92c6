"""Scoring candidate clusterings and choosing the segmentation.

All figures are computed on the same seeded sample of patients (its size is the `sample_size` column), using
the labels the assignment rule gives those patients, i.e. exactly what they receive in `patient_segments`.
Noise (label -1, DBSCAN/HDBSCAN) counts as one more group in silhouette, Calinski-Harabasz and Davies-Bouldin:
leaving noise out would flatter a model by hiding the patients it cannot place.

Selection rule:
1. A candidate is eligible when it has at least 2 clusters, its smallest cluster holds at least
   `min_cluster_share` of the sample, its noise share is at most `max_noise_share`, its silhouette is at least
   `min_silhouette` and its stability (mean pairwise adjusted Rand index between refits on subsamples, all
   labelling the full sample) is at least `min_stability`.
2. Each algorithm's own choice: the eligible candidate with the lowest BIC for the Gaussian mixture, the
   highest silhouette for the others; if none is eligible, the same criterion over all its candidates with
   at least 2 clusters; failing that, its first candidate. (Its labels fill the `<algorithm>_label` columns.)
3. The segmentation: among the algorithms' eligible choices, the one with the highest silhouette, ties to the
   algorithm listed first in `clustering_algorithms`. When no choice is eligible, or the population is smaller
   than `min_population`, nothing is selected: the segmentation of record is then the rule-based one
   (marts.patient_rule_segments), and `segmentation_method` / `segmentation_reason` say so on every row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.spatial.distance import cdist
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
)

from segmentation.algorithms import NOISE, Clustering, fit_family
from segmentation.config import PARAMETER_NAMES, ClusteringConfig
from segmentation.stored import dump_model

EVALUATION_COLUMNS: tuple[str, ...] = (
    "algorithm", "parameter_name", "parameter_value", "settings", "n_clusters", "cluster_sizes",
    "smallest_cluster_share", "noise_share", "silhouette", "calinski_harabasz", "davies_bouldin", "inertia",
    "bic", "stability", "ari_vs_truth", "sample_size", "is_eligible", "is_algorithm_choice", "is_selected",
    "selection_reason", "segmentation_method", "segmentation_reason", "note", "fit_seconds", "fitted_model",
)
RULE_BASED = "rule_based"


def resample_indices(n: int, config: ClusteringConfig) -> list[np.ndarray]:
    """Seeded subsamples without replacement of the sample, the same for every algorithm. Subsampling rather
    than a bootstrap with replacement: duplicated patients would fake density for DBSCAN and HDBSCAN."""
    size = max(int(round(config.stability_fraction * n)), 1)
    return [
        np.sort(np.random.default_rng([config.random_seed, resample]).choice(n, size=size, replace=False))
        for resample in range(config.stability_resamples)
    ]


def stability_by_parameter(algorithm: str, values: np.ndarray, parameters: Sequence[float],
                           config: ClusteringConfig) -> dict[float | None, float]:
    """Mean adjusted Rand index over all pairs of refits on subsamples, each labelling the whole sample."""
    labellings: dict[float | None, list[np.ndarray]] = {}
    for indices in resample_indices(len(values), config):
        refits = fit_family(algorithm, values[indices], parameters, config)
        for clustering in (refit for refit in refits if refit.parameter is not None):
            labellings.setdefault(clustering.parameter, []).append(
                clustering.assign(values, config.chunk_size)
            )
    return {
        parameter: float(np.mean([adjusted_rand_score(a, b) for a, b in combinations(labels, 2)]))
        for parameter, labels in labellings.items()
        if len(labels) == config.stability_resamples
    }


def within_cluster_ss(values: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of patients to their cluster mean (K-Means' inertia, for any labelling)."""
    codes, inverse = np.unique(labels, return_inverse=True)
    sums = np.zeros((len(codes), values.shape[1]))
    np.add.at(sums, inverse, values)
    means = sums / np.bincount(inverse)[:, None]
    return float(((values - means[inverse]) ** 2).sum())


# Rows of the distance matrix multiplied at a time: the float64 copy of a block stays in the processor cache.
SILHOUETTE_BLOCK_ROWS = 64


def is_scorable(labels: np.ndarray) -> bool:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin need 2 to n - 1 groups."""
    return 2 <= len(np.unique(labels)) <= len(labels) - 1


def silhouettes(distances: np.ndarray, labellings: Sequence[np.ndarray]) -> list[float | None]:
    """Mean silhouette of each labelling of the sample from its precomputed distances, as sklearn's
    silhouette_score defines it (a patient alone in its group scores 0); None when not scorable.

    Every patient's distance sums to every group of every labelling come from one pass over the matrix: one
    product with the labellings' group indicator matrices side by side, in float64 block by block. sklearn
    instead loops over patients in Python once per labelling; the figures agree to about 1e-10.
    """
    scorable = [is_scorable(labels) for labels in labellings]
    encoded = [np.unique(labels, return_inverse=True)[1]
               for labels, scored in zip(labellings, scorable, strict=True) if scored]
    if not encoded:
        return [None] * len(labellings)
    n = len(distances)
    rows = np.arange(n)
    sizes = [np.bincount(groups) for groups in encoded]
    offsets = np.cumsum([0, *(len(counts) for counts in sizes)])
    indicator = np.zeros((n, offsets[-1]))
    for groups, offset in zip(encoded, offsets[:-1], strict=True):
        indicator[rows, groups + offset] = 1.0
    sums = np.empty((n, offsets[-1]))
    for start in range(0, n, SILHOUETTE_BLOCK_ROWS):
        block = slice(start, start + SILHOUETTE_BLOCK_ROWS)
        sums[block] = distances[block].astype(np.float64) @ indicator
    scores = iter([
        mean_silhouette(sums[:, offset:offset + len(counts)], groups, counts)
        for groups, counts, offset in zip(encoded, sizes, offsets[:-1], strict=True)
    ])
    return [next(scores) if scored else None for scored in scorable]


def mean_silhouette(sums: np.ndarray, groups: np.ndarray, sizes: np.ndarray) -> float:
    """Mean silhouette from each patient's distance sum to every group (`sums`, patients x groups)."""
    rows = np.arange(len(groups))
    sums = sums.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        own = sums[rows, groups] / (sizes[groups] - 1)
        sums[rows, groups] = np.inf
        nearest_other = (sums / sizes).min(axis=1)
        scores = (nearest_other - own) / np.maximum(own, nearest_other)
    return float(np.nan_to_num(scores).mean())


def cluster_metrics(values: np.ndarray, labels: np.ndarray, silhouette: float | None) -> dict[str, object]:
    """Sizes and internal validity indices of one labelling of the sample (its silhouette computed with all
    the others', see `silhouettes`)."""
    n = len(labels)
    clustered = labels[labels != NOISE]
    sizes = np.bincount(clustered) if len(clustered) else np.zeros(0, dtype=np.int64)
    sizes = sizes[sizes > 0]
    scorable = is_scorable(labels)
    noise = int((labels == NOISE).sum())
    size_map = {str(label): int(count) for label, count in zip(*np.unique(labels, return_counts=True),
                                                               strict=True)}
    return {
        "n_clusters": len(sizes),
        "cluster_sizes": json.dumps(size_map),
        "smallest_cluster_share": float(sizes.min() / n) if len(sizes) else None,
        "noise_share": noise / n if n else None,
        "silhouette": silhouette,
        "calinski_harabasz": float(calinski_harabasz_score(values, labels)) if scorable else None,
        "davies_bouldin": float(davies_bouldin_score(values, labels)) if scorable else None,
    }


def truth_agreement(labels: np.ndarray, truth: np.ndarray | None) -> float | None:
    """Adjusted Rand index against the synthetic archetypes of the sampled patients (evaluation only)."""
    if truth is None or len(labels) < 2:
        return None
    return float(adjusted_rand_score(truth, labels))


@dataclass(frozen=True)
class Candidate:
    """A fitted candidate with the labels it gives the sample and its stability."""

    clustering: Clustering
    labels: np.ndarray
    stability: float | None


def evaluation_row(candidate: Candidate, values: np.ndarray, silhouette: float | None,
                   truth: np.ndarray | None) -> dict[str, object]:
    clustering, labels = candidate.clustering, candidate.labels
    centroid_based = clustering.algorithm in ("kmeans", "hierarchical") and clustering.parameter is not None
    return {
        "algorithm": clustering.algorithm,
        "parameter_name": PARAMETER_NAMES[clustering.algorithm],
        "parameter_value": clustering.parameter,
        "settings": json.dumps(clustering.settings, sort_keys=True),
        **cluster_metrics(values, labels, silhouette),
        "inertia": within_cluster_ss(values, labels) if centroid_based and len(labels) else None,
        "bic": clustering.bic,
        "stability": candidate.stability,
        "ari_vs_truth": truth_agreement(labels, truth),
        "sample_size": len(values),
        "note": clustering.note or None,
        "fit_seconds": clustering.fit_seconds,
    }


def fit_candidates(algorithm: str, values: np.ndarray, config: ClusteringConfig) -> list[Candidate]:
    fitted = fit_family(algorithm, values, config.parameter_grid(algorithm), config)
    tried = [clustering.parameter for clustering in fitted if clustering.parameter is not None]
    stability = stability_by_parameter(algorithm, values, tried, config) if tried else {}
    return [
        Candidate(clustering, labels=clustering.assign(values, config.chunk_size),
                  stability=stability.get(clustering.parameter))
        for clustering in fitted
    ]


# Starting the worker processes (each imports scikit-learn) costs about 2 s, what fitting the default
# candidates on about 4,000 patients costs in one process: smaller samples are fitted in this process.
MIN_SAMPLE_FOR_PROCESSES = 4000


def fitted_families(values: np.ndarray, config: ClusteringConfig) -> Iterator[list[Candidate]]:
    """Each algorithm's candidates, in the order of `clustering_algorithms`, computed lazily. With several
    `config.processes` and a sample of at least MIN_SAMPLE_FOR_PROCESSES patients the algorithms are fitted
    side by side in worker processes (joblib's loky backend, whose workers outlive one call, each limited to
    `config.threads` BLAS threads as this process is), and the fitting starts at once while the caller goes
    on. Every fit is seeded, so the candidates are the same however many processes fit them."""
    processes = min(config.processes, len(config.algorithms))
    if processes == 1 or len(values) < MIN_SAMPLE_FOR_PROCESSES:
        return (fit_candidates(algorithm, values, config) for algorithm in config.algorithms)
    return Parallel(n_jobs=processes, backend="loky", inner_max_num_threads=config.threads,
                    return_as="generator")(
        delayed(fit_candidates)(algorithm, values, config) for algorithm in config.algorithms)


def eligibility(frame: pd.DataFrame, config: ClusteringConfig) -> tuple[pd.Series, pd.Series]:
    """Whether each candidate meets the thresholds, and why not (first failed condition)."""
    checks = [
        (frame["n_clusters"] >= 2, "fewer than 2 clusters"),
        (frame["smallest_cluster_share"].fillna(0) >= config.min_cluster_share,
         f"a cluster under {config.min_cluster_share:.0%} of the sample"),
        (frame["noise_share"].fillna(1) <= config.max_noise_share,
         f"noise above {config.max_noise_share:.0%} of the sample"),
        (frame["silhouette"].fillna(-1) >= config.min_silhouette,
         f"silhouette below {config.min_silhouette:.2f}"),
        (frame["stability"].fillna(-1) >= config.min_stability,
         f"stability below {config.min_stability:.2f}"),
    ]
    eligible = pd.Series(True, index=frame.index)
    reason = pd.Series("", index=frame.index, dtype="object")
    for passed, message in checks:
        reason = reason.mask(eligible & ~passed, "not eligible: " + message)
        eligible &= passed
    return eligible, reason


def choose_per_algorithm(frame: pd.DataFrame) -> pd.Series:
    """Flag each algorithm's own choice (rule 2 of the module docstring)."""
    criterion = frame["silhouette"].where(frame["algorithm"] != "gmm", -frame["bic"])
    ranked = frame.assign(
        tier=np.select([frame["is_eligible"], frame["n_clusters"] >= 2], [0, 1], default=2),
        score=criterion.astype(float).fillna(-np.inf),
        position=np.arange(len(frame)),
    ).sort_values(["algorithm_order", "tier", "score", "parameter_value", "position"],
                  ascending=[True, True, False, True, True], na_position="last")
    chosen = ranked.drop_duplicates("algorithm", keep="first").index
    return pd.Series(frame.index.isin(chosen), index=frame.index)


def choose_overall(frame: pd.DataFrame, population_size: int, config: ClusteringConfig) -> pd.Series:
    """Flag the segmentation among the algorithms' eligible choices (rule 3 of the module docstring); no row
    when none qualifies."""
    choices = frame[frame["is_algorithm_choice"] & frame["is_eligible"]]
    if choices.empty or population_size < config.min_population:
        return pd.Series(False, index=frame.index)
    ranked = choices.assign(score=choices["silhouette"].astype(float)).sort_values(
        ["score", "algorithm_order"], ascending=[False, True])
    return pd.Series(frame.index == ranked.index[0], index=frame.index)


def describe_candidate(row: pd.Series) -> str:
    parameter = f"{row['parameter_name']} {row['parameter_value']:g}"
    silhouette = "n/a" if pd.isna(row["silhouette"]) else f"{row['silhouette']:.2f}"
    stability = "n/a" if pd.isna(row["stability"]) else f"{row['stability']:.2f}"
    return f"{row['algorithm']} ({parameter}; silhouette {silhouette}, stability {stability})"


def segmentation_decision(frame: pd.DataFrame, not_eligible: pd.Series, population_size: int,
                          config: ClusteringConfig) -> tuple[str, str]:
    """The segmentation of record and why, in words a reader of bi.build_info can follow."""
    selected = frame[frame["is_selected"]]
    eligible = int(frame["is_eligible"].sum())
    if not selected.empty:
        row = selected.iloc[0]
        return str(row["algorithm"]), (
            f"{describe_candidate(row)} qualified, the highest silhouette among {eligible} qualifying "
            f"candidate(s) of {len(frame)} on a sample of {int(row['sample_size'])} of {population_size} "
            "patients")
    rules = "rule-based segments (after Bridges to Health, marts.patient_rule_segments) are used instead"
    if population_size < config.min_population:
        return RULE_BASED, (f"the population of {population_size} patients is below "
                            f"clustering_min_population ({config.min_population}), too few for data-driven "
                            f"segments; {rules}")
    best = frame[frame["is_algorithm_choice"]].assign(
        score=lambda choices: choices["silhouette"].astype(float).fillna(-np.inf)
    ).sort_values("score", ascending=False).iloc[0]
    return RULE_BASED, (f"none of the {len(frame)} candidate clusterings qualified (best: "
                        f"{describe_candidate(best)}, {not_eligible[best.name]}); {rules}")


def selection_reasons(frame: pd.DataFrame, not_eligible: pd.Series) -> pd.Series:
    """Readable reason per row: eligibility for every row, the rule that chose it for the chosen rows."""
    fit = np.where(frame["is_eligible"], "eligible", "no eligible candidate, best of the rest")
    criterion = np.where(frame["algorithm"] == "gmm", "lowest BIC", "highest silhouette")
    chosen = "choice of " + frame["algorithm"] + ": " + criterion + " (" + fit + ")"
    selected = "selected segmentation: highest silhouette among the algorithms' eligible choices"
    reason = not_eligible.where(~frame["is_eligible"], "eligible")
    return reason.mask(frame["is_algorithm_choice"], chosen).mask(frame["is_selected"], selected)


def select(frame: pd.DataFrame, population_size: int, config: ClusteringConfig) -> pd.DataFrame:
    order = {algorithm: position for position, algorithm in enumerate(config.algorithms)}
    frame = frame.assign(algorithm_order=frame["algorithm"].map(order))
    eligible, not_eligible = eligibility(frame, config)
    frame = frame.assign(is_eligible=eligible)
    frame = frame.assign(is_algorithm_choice=choose_per_algorithm(frame))
    frame = frame.assign(is_selected=choose_overall(frame, population_size, config))
    frame = frame.assign(selection_reason=selection_reasons(frame, not_eligible))
    method, reason = segmentation_decision(frame, not_eligible, population_size, config)
    frame = frame.assign(segmentation_method=method, segmentation_reason=reason)
    return frame.drop(columns="algorithm_order")


# Rows of the sample's distance matrix computed at a time.
DISTANCE_BLOCK_ROWS = 256


def sample_distances(values: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances of the sample, for all silhouettes. Kept as float32 while all candidates
    are scored: half the memory of the n x n matrix, and silhouettes differ from float64 ones by about 1e-8.
    Computed in float64 a block of rows at a time: no float64 n x n matrix is ever held, whose allocation and
    passes cost several times the arithmetic."""
    distances = np.empty((len(values), len(values)), dtype=np.float32)
    for start in range(0, len(values), DISTANCE_BLOCK_ROWS):
        block = slice(start, start + DISTANCE_BLOCK_ROWS)
        distances[block] = cdist(values[block], values)
    return distances


def evaluate(values: np.ndarray, truth: np.ndarray | None, config: ClusteringConfig,
             fingerprint: str, population_size: int) -> pd.DataFrame:
    """One row per algorithm and parameter value tried, with metrics and the selection flags; each algorithm's
    chosen row keeps its fitted model (`fingerprint` identifies the sample, see segmentation/stored.py)."""
    families = fitted_families(values, config)
    distances = sample_distances(values)
    candidates = [candidate for family in families for candidate in family]
    scores = silhouettes(distances, [candidate.labels for candidate in candidates])
    frame = pd.DataFrame([
        evaluation_row(candidate, values, score, truth)
        for candidate, score in zip(candidates, scores, strict=True)
    ])
    for column in ("parameter_value", "smallest_cluster_share", "noise_share", "silhouette",
                   "calinski_harabasz", "davies_bouldin", "inertia", "bic", "stability", "ari_vs_truth"):
        frame[column] = frame[column].astype("Float64")
    frame["n_clusters"] = frame["n_clusters"].astype("Int64")
    frame["sample_size"] = frame["sample_size"].astype("Int64")
    frame = select(frame, population_size, config)
    frame["fitted_model"] = [
        dump_model(candidate.clustering, config.features, fingerprint) if chosen else None
        for candidate, chosen in zip(candidates, frame["is_algorithm_choice"], strict=True)
    ]
    return frame.loc[:, list(EVALUATION_COLUMNS)]
