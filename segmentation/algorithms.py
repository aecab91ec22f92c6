"""Fitting each clustering algorithm on a sample and labelling any number of patients with the result.

Algorithms whose cost grows with the square of the sample (Ward, DBSCAN, HDBSCAN) and, for one consistent
design, K-Means and the Gaussian mixture too, are fitted on the seeded sample only; every patient is then
labelled by a rule that scales linearly:

- K-Means and Ward: nearest centroid (for K-Means exactly `KMeans.predict`);
- Gaussian mixture: `GaussianMixture.predict`;
- DBSCAN: the label of the nearest core point when it lies within eps, else noise (-1);
- HDBSCAN: the label of the nearest clustered sample point when it lies within that point's core distance
  (its own density radius), else noise (-1).

Labels are canonical: cluster 0 is the largest on the sample, ties broken by centroid order, so the same data
and configuration always give the same label ids. Noise keeps -1.

Each rule can be written out as plain numbers (`state`) and rebuilt from them (`labeller_from_state`), which
is how `patient_segments` reuses the models `cluster_evaluation` fitted (see segmentation/stored.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
from fastcluster import linkage_vector
from scipy.cluster.hierarchy import fcluster
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from segmentation.config import PARAMETER_NAMES, ClusteringConfig

NOISE = -1


class Labeller(Protocol):
    def raw_labels(self, values: np.ndarray) -> np.ndarray: ...

    def state(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class NearestCentroid:
    centroids: np.ndarray

    def raw_labels(self, values: np.ndarray) -> np.ndarray:
        # argmin of |x - c|^2 over c does not need |x|^2, which saves a pass over the chunk.
        distances = (self.centroids**2).sum(axis=1) - 2.0 * values @ self.centroids.T
        return distances.argmin(axis=1)

    def state(self) -> dict[str, object]:
        return {"rule": "nearest_centroid", "centroids": self.centroids.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, object], sample: np.ndarray) -> NearestCentroid:
        return cls(np.asarray(state["centroids"], dtype=float).reshape(-1, sample.shape[1]))


@dataclass(frozen=True)
class MixtureLabels:
    mixture: GaussianMixture

    def raw_labels(self, values: np.ndarray) -> np.ndarray:
        return self.mixture.predict(values)

    def state(self) -> dict[str, object]:
        return {
            "rule": "mixture",
            "covariance_type": self.mixture.covariance_type,
            "weights": self.mixture.weights_.tolist(),
            "means": self.mixture.means_.tolist(),
            "precisions_cholesky": self.mixture.precisions_cholesky_.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, object], sample: np.ndarray) -> MixtureLabels:
        weights = np.asarray(state["weights"], dtype=float)
        mixture = GaussianMixture(n_components=len(weights), covariance_type=str(state["covariance_type"]))
        # predict needs only these fitted attributes; the values are the fitted ones to the last bit (JSON
        # keeps every digit of a float), so the rebuilt mixture labels exactly as the fitted one.
        mixture.weights_ = weights
        mixture.means_ = np.asarray(state["means"], dtype=float)
        mixture.precisions_cholesky_ = np.asarray(state["precisions_cholesky"], dtype=float)
        mixture.n_features_in_ = sample.shape[1]
        return cls(mixture)


@dataclass(frozen=True)
class NearestDenseNeighbour:
    """Label of the nearest reference point if within that point's radius, else noise. `rows` are the
    reference points' positions in the values the rule was fitted on."""

    points: np.ndarray
    labels: np.ndarray
    radii: np.ndarray
    rows: np.ndarray
    index: cKDTree | None = field(default=None, compare=False)

    @classmethod
    def build(cls, values: np.ndarray, rows: np.ndarray, labels: np.ndarray,
              radii: np.ndarray) -> NearestDenseNeighbour:
        points = values[rows]
        index = cKDTree(points) if len(points) else None
        return cls(points=points, labels=labels, radii=radii, rows=rows, index=index)

    def raw_labels(self, values: np.ndarray) -> np.ndarray:
        if self.index is None or len(values) == 0:
            return np.full(len(values), NOISE)
        # A patient farther than the largest radius from every reference point is noise whichever point is
        # nearest, so the tree search may stop there: most patients lie well inside a dense region, which
        # makes this several times faster than scanning every reference point. The bound is widened by a
        # hair so that the exact comparison below, not the tree's squared-distance test, decides ties at
        # the radius; a patient beyond the bound gets distance inf.
        bound = float(self.radii.max()) * (1.0 + 1e-9)
        distances, nearest = self.index.query(values, k=1, distance_upper_bound=bound)
        labels = np.full(len(values), NOISE)
        found = np.flatnonzero(np.isfinite(distances))
        hit = nearest[found]
        labels[found] = np.where(distances[found] <= self.radii[hit], self.labels[hit], NOISE)
        return labels

    def state(self) -> dict[str, object]:
        # Positions in the sample rather than coordinates: a fraction of the size, and no patient's features.
        return {"rule": "nearest_dense", "rows": self.rows.tolist(), "labels": self.labels.tolist(),
                "radii": self.radii.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, object], sample: np.ndarray) -> NearestDenseNeighbour:
        return cls.build(sample, np.asarray(state["rows"], dtype=np.int64),
                         np.asarray(state["labels"], dtype=np.int64), np.asarray(state["radii"], dtype=float))


LABELLERS: dict[str, type[NearestCentroid] | type[MixtureLabels] | type[NearestDenseNeighbour]] = {
    "nearest_centroid": NearestCentroid,
    "mixture": MixtureLabels,
    "nearest_dense": NearestDenseNeighbour,
}


def labeller_from_state(state: dict[str, object], sample: np.ndarray) -> Labeller:
    """Rebuild a labelling rule from its `state()`; `sample` is the values it was fitted on."""
    return LABELLERS[str(state["rule"])].from_state(state, sample)


@dataclass(frozen=True)
class Assignment:
    """A labelling rule and the map from its raw cluster ids to canonical ids."""

    labeller: Labeller
    canonical: np.ndarray

    def assign(self, values: np.ndarray, chunk_size: int) -> np.ndarray:
        """Canonical labels of every row, computed chunk by chunk so memory stays bounded."""
        labels = np.full(len(values), NOISE, dtype=np.int64)
        for start in range(0, len(values), chunk_size):
            raw = self.labeller.raw_labels(values[start:start + chunk_size])
            clustered = raw != NOISE
            labels[start:start + chunk_size][clustered] = self.canonical[raw[clustered]]
        return labels


@dataclass(frozen=True)
class Clustering:
    """A fitted clustering of one algorithm and parameter value, ready to label patients."""

    algorithm: str
    parameter: float | None
    settings: dict[str, float | int]
    labeller: Labeller
    canonical: np.ndarray
    fit_seconds: float
    bic: float | None = None
    note: str = ""

    @property
    def assignment(self) -> Assignment:
        return Assignment(self.labeller, self.canonical)

    def assign(self, values: np.ndarray, chunk_size: int) -> np.ndarray:
        return self.assignment.assign(values, chunk_size)


def canonical_order(values: np.ndarray, raw_labels: np.ndarray, n_raw: int) -> np.ndarray:
    """Map raw cluster ids 0..n_raw-1 to canonical ids: by size on `values` (largest first), then by centroid
    coordinates, then by raw id; clusters that label nobody come last."""
    clustered = raw_labels != NOISE
    sizes = np.bincount(raw_labels[clustered], minlength=n_raw)
    sums = np.zeros((n_raw, values.shape[1]))
    np.add.at(sums, raw_labels[clustered], values[clustered])
    centroids = sums / np.maximum(sizes, 1)[:, None]
    keys = [np.arange(n_raw), *centroids.T[::-1], -sizes]
    order = np.lexsort(keys)
    canonical = np.empty(n_raw, dtype=np.int64)
    canonical[order] = np.arange(n_raw)
    return canonical


def finish(algorithm: str, parameter: float | None, settings: dict[str, float | int], labeller: Labeller,
           n_raw: int, values: np.ndarray, started: float, bic: float | None = None,
           note: str = "") -> Clustering:
    raw = labeller.raw_labels(values)
    return Clustering(
        algorithm=algorithm,
        parameter=parameter,
        settings=settings,
        labeller=labeller,
        canonical=canonical_order(values, raw, n_raw),
        fit_seconds=time.perf_counter() - started,
        bic=bic,
        note=note,
    )


def single_segment(algorithm: str, values: np.ndarray, note: str) -> Clustering:
    """Everyone in one segment: what an algorithm falls back to when no parameter value can be tried."""
    started = time.perf_counter()
    centroid = values.mean(axis=0, keepdims=True) if len(values) else np.zeros((1, values.shape[1]))
    labeller = NearestCentroid(centroid)
    return finish(algorithm, None, {"n_clusters": 1}, labeller, 1, values, started, note=note)


def feasible_cluster_counts(ks: Sequence[float], values: np.ndarray) -> tuple[list[int], str]:
    """k values that can be fitted and scored: at most the number of distinct patients and at most n - 1
    (a silhouette needs one cluster with two members)."""
    n_distinct = len(np.unique(values, axis=0)) if len(values) else 0
    limit = min(n_distinct, len(values) - 1)
    feasible = [int(k) for k in ks if k <= limit]
    skipped = [int(k) for k in ks if k > limit]
    note = (f"k = {', '.join(map(str, skipped))} not tried: the sample has {len(values)} patients, "
            f"{n_distinct} distinct") if skipped else ""
    return feasible, note


def fit_kmeans(values: np.ndarray, ks: Sequence[int], config: ClusteringConfig) -> list[Clustering]:
    fitted = []
    for k in ks:
        started = time.perf_counter()
        model = KMeans(n_clusters=k, n_init=config.kmeans_n_init, random_state=config.random_seed).fit(values)
        fitted.append(finish("kmeans", float(k), {"n_clusters": k}, NearestCentroid(model.cluster_centers_),
                             k, values, started))
    return fitted


def fit_hierarchical(values: np.ndarray, ks: Sequence[int], config: ClusteringConfig) -> list[Clustering]:
    """One Ward tree, cut at every k; each row's fit time includes the shared tree build (Ward linkage has no
    seed or tuning knob, so `config` is unused). fastcluster builds the tree from the points, in memory linear
    in the sample where scipy's `ward` first holds all n(n - 1)/2 distances; on the default sample of 5,000
    patients it takes a fifth of the time, and its cuts are the same partitions."""
    started = time.perf_counter()
    tree = linkage_vector(values, method="ward")
    tree_seconds = time.perf_counter() - started
    fitted = []
    for k in ks:
        started_with_tree = time.perf_counter() - tree_seconds
        # maxclust may return fewer than k clusters when merge heights tie; n_clusters then reports it.
        labels = fcluster(tree, k, criterion="maxclust") - 1
        sizes = np.bincount(labels, minlength=k)
        centroids = np.zeros((k, values.shape[1]))
        np.add.at(centroids, labels, values)
        centroids /= np.maximum(sizes, 1)[:, None]
        labeller = NearestCentroid(centroids)
        fitted.append(finish("hierarchical", float(k), {"n_clusters": k}, labeller, k, values,
                             started_with_tree))
    return fitted


def fit_gmm(values: np.ndarray, ks: Sequence[int], config: ClusteringConfig) -> list[Clustering]:
    fitted = []
    for k in ks:
        started = time.perf_counter()
        model = GaussianMixture(n_components=k, covariance_type=config.gmm_covariance_type,
                                reg_covar=config.gmm_reg_covar, random_state=config.random_seed).fit(values)
        fitted.append(finish("gmm", float(k), {"n_components": k}, MixtureLabels(model), k, values, started,
                             bic=float(model.bic(values))))
    return fitted


def neighbour_distances(values: np.ndarray, n_neighbours: int) -> np.ndarray:
    """Each point's distances to its n_neighbours nearest other points, nearest first. Column j is the same
    whatever n_neighbours > j is asked for, to the last bit, so one search serves several min_samples."""
    neighbours = NearestNeighbors(n_neighbors=n_neighbours, algorithm="brute").fit(values)
    distances, _ = neighbours.kneighbors()
    return distances


def k_distances(values: np.ndarray, min_samples: int) -> np.ndarray:
    """Each point's distance to its (min_samples - 1)-th other neighbour: DBSCAN calls a point core when this
    is within eps (min_samples counts the point itself)."""
    return neighbour_distances(values, min_samples - 1)[:, -1]


def knee_eps(distances: np.ndarray) -> float:
    """eps at the knee of the sorted k-distance curve: the point farthest below the chord from the smallest to
    the largest k-distance (both axes scaled to [0, 1]). Below the knee distances grow slowly (dense regions),
    above it they shoot up (sparse outliers). A zero radius (duplicates only) is raised to the smallest
    positive float so that exact duplicates still connect."""
    curve = np.sort(distances)
    span = curve[-1] - curve[0]
    if len(curve) < 3 or span <= 0:
        return max(float(curve[-1]), float(np.finfo(float).tiny))
    x = np.linspace(0.0, 1.0, len(curve))
    y = (curve - curve[0]) / span
    return max(float(curve[int(np.argmax(x - y))]), float(np.finfo(float).tiny))


def effective_min_samples(min_samples: float, n: int) -> tuple[int, str]:
    effective = min(int(min_samples), n - 1)
    note = f"min_samples {int(min_samples)} reduced to {effective}: the sample has {n} patients" if (
        effective < min_samples) else ""
    return effective, note


def fit_dbscan(values: np.ndarray, min_samples_values: Sequence[float],
               config: ClusteringConfig) -> list[Clustering]:
    """One neighbour search for the largest min_samples gives every k-distance curve; each row's fit time
    includes that shared search (`config` is unused: DBSCAN has no seed)."""
    started = time.perf_counter()
    effective = [effective_min_samples(configured, len(values)) for configured in min_samples_values]
    neighbours = neighbour_distances(values, max(min_samples for min_samples, _ in effective) - 1)
    search_seconds = time.perf_counter() - started
    fitted = []
    for configured, (min_samples, note) in zip(min_samples_values, effective, strict=True):
        started = time.perf_counter() - search_seconds
        eps = knee_eps(neighbours[:, min_samples - 2])
        model = DBSCAN(eps=eps, min_samples=min_samples, algorithm="brute").fit(values)
        core = model.core_sample_indices_
        labels = model.labels_
        n_raw = int(labels.max()) + 1
        labeller = NearestDenseNeighbour.build(values, core, labels[core], np.full(len(core), eps))
        fitted.append(finish("dbscan", float(configured), {"min_samples": min_samples, "eps": eps}, labeller,
                             n_raw, values, started, note=note))
    return fitted


def fit_hdbscan(values: np.ndarray, shares: Sequence[float], config: ClusteringConfig) -> list[Clustering]:
    fitted = []
    for share in shares:
        started = time.perf_counter()
        min_cluster_size = min(max(2, round(share * len(values))), len(values) - 1)
        model = HDBSCAN(min_cluster_size=min_cluster_size, copy=True).fit(values)
        labels = model.labels_
        clustered = labels != NOISE
        # HDBSCAN's core distance uses min_samples = min_cluster_size neighbours, the point itself included.
        radii = k_distances(values, min_cluster_size)[clustered]
        labeller = NearestDenseNeighbour.build(values, np.flatnonzero(clustered), labels[clustered], radii)
        fitted.append(finish("hdbscan", float(share), {"min_cluster_share": share,
                                                       "min_cluster_size": min_cluster_size},
                             labeller, int(labels.max()) + 1, values, started))
    return fitted


FITTERS = {
    "kmeans": fit_kmeans,
    "hierarchical": fit_hierarchical,
    "gmm": fit_gmm,
    "dbscan": fit_dbscan,
    "hdbscan": fit_hdbscan,
}

MIN_PATIENTS = 3


def fit_family(algorithm: str, values: np.ndarray, parameters: Sequence[float],
               config: ClusteringConfig) -> list[Clustering]:
    """Fit `algorithm` for every feasible parameter value on `values`; when none is feasible, one
    single-segment clustering explains why."""
    if len(values) < MIN_PATIENTS:
        return [single_segment(algorithm, values, f"{len(values)} patient(s): at least {MIN_PATIENTS} are "
                               "needed to compare clusterings, so everyone forms one segment")]
    if PARAMETER_NAMES[algorithm] in ("n_clusters", "n_components"):
        ks, note = feasible_cluster_counts(parameters, values)
        if not ks:
            return [single_segment(algorithm, values, note)]
        fitted = FITTERS[algorithm](values, ks, config)
        return [_with_note(clustering, note) for clustering in fitted]
    return FITTERS[algorithm](values, parameters, config)


def _with_note(clustering: Clustering, note: str) -> Clustering:
    if not note:
        return clustering
    return replace(clustering, note="; ".join(part for part in (clustering.note, note) if part))
