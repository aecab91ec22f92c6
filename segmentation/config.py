"""Clustering configuration: one validated, immutable object built from the dbt vars `clustering_*`.

The settings are declared once, as dbt vars in dbt_project.yml, with their reasons. The dbt Python models
receive them through their `clustering` config (models_py/segmentation/_segmentation__models.yml), which
must name every setting: one left out is an error, never a silent default. Code outside dbt (the benchmark,
the tests) reads the same declaration with `project_config()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from segmentation.features import CATALOGUE_BY_COLUMN

ALGORITHMS: tuple[str, ...] = ("kmeans", "hierarchical", "gmm", "dbscan", "hdbscan")

# HDBSCAN is supported but not run by default. On the default synthetic population (10,000 patients, seed 42)
# its best candidate reached silhouette 0.40 and adjusted Rand index 0.61 against the archetypes with 10 % of
# the sample left as noise, against 0.52 / 0.93 for K-Means and Ward, while taking about a third of the
# evaluation's CPU time (its density tree per refit plus a nearest-neighbour assignment of every patient).
# Patient features mix counts and flags, so densities are lumpy and HDBSCAN splits archetypes or calls
# their edges noise rather than finding shapes the centroid methods miss. Add it to clustering_algorithms to
# compare.

GMM_COVARIANCE_TYPES: tuple[str, ...] = ("full", "tied", "diag", "spherical")

PROJECT_FILE = Path(__file__).resolve().parent.parent / "dbt_project.yml"
VAR_PREFIX = "clustering_"


class ConfigError(ValueError):
    """A clustering setting that cannot be used; the message names the dbt var."""


@dataclass(frozen=True)
class ClusteringConfig:
    """Every knob of the clustering stage. Field `x` is the dbt var `clustering_x`."""

    features: tuple[str, ...]
    algorithms: tuple[str, ...]
    k_min: int
    k_max: int
    sample_size: int
    random_seed: int
    kmeans_n_init: int
    gmm_covariance_type: str
    gmm_reg_covar: float
    dbscan_min_samples: tuple[int, ...]
    hdbscan_min_cluster_shares: tuple[float, ...]
    stability_resamples: int
    stability_fraction: float
    min_stability: float
    min_cluster_share: float
    max_noise_share: float
    min_silhouette: float
    min_population: int
    chunk_size: int
    threads: int
    processes: int
    noise_segment_name: str

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None,
                     base: ClusteringConfig | None = None) -> ClusteringConfig:
        """Build from the `clustering` model config (keys without the `clustering_` prefix). Without `base`
        every setting must be present; with it, the mapping overrides the base's settings. Unknown keys are
        an error too, so a typo in a var name cannot go unnoticed."""
        values = dict(mapping or {})
        known = [field.name for field in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            names = ", ".join(VAR_PREFIX + name for name in unknown)
            raise ConfigError(f"unknown clustering setting(s): {names}")
        if base is None:
            missing = [name for name in known if name not in values]
            if missing:
                names = ", ".join(VAR_PREFIX + name for name in missing)
                raise ConfigError(
                    f"the clustering config lacks {names}: map each var in the models' `clustering` config "
                    "(models_py/segmentation/_segmentation__models.yml) as "
                    f"`name: \"{{{{ var('clustering_name') }}}}\"`")
        kinds = {name: _kind_of(cls.__dataclass_fields__[name].type) for name in known}
        parsed = {name: _parse(name, value, kinds[name]) for name, value in values.items()}
        config = cls(**parsed) if base is None else replace(base, **parsed)
        config.check()
        return config

    def check(self) -> None:
        _require(len(self.features) > 0, "features", "list at least one feature")
        for feature in self.features:
            _require(feature in CATALOGUE_BY_COLUMN, "features",
                     f"'{feature}' is not a catalogue feature ({', '.join(CATALOGUE_BY_COLUMN)})")
            _require(not CATALOGUE_BY_COLUMN[feature].is_outcome, "features",
                     f"'{feature}' is an outcome: segments are validated against it, never fitted on it")
        _require(len(set(self.features)) == len(self.features), "features", "list each feature once")
        _require(len(self.algorithms) > 0, "algorithms", "list at least one algorithm")
        for algorithm in self.algorithms:
            _require(algorithm in ALGORITHMS, "algorithms",
                     f"'{algorithm}' is not one of {', '.join(ALGORITHMS)}")
        _require(len(set(self.algorithms)) == len(self.algorithms), "algorithms", "list each algorithm once")
        _require(2 <= self.k_min <= self.k_max, "k_min", "need 2 <= clustering_k_min <= clustering_k_max")
        _require(self.sample_size >= 2, "sample_size", "must be at least 2")
        _require(self.kmeans_n_init >= 1, "kmeans_n_init", "must be at least 1")
        _require(self.gmm_covariance_type in GMM_COVARIANCE_TYPES, "gmm_covariance_type",
                 f"must be one of {', '.join(GMM_COVARIANCE_TYPES)}")
        _require(self.gmm_reg_covar > 0, "gmm_reg_covar", "must be positive")
        _require(len(self.dbscan_min_samples) > 0 and min(self.dbscan_min_samples) >= 2,
                 "dbscan_min_samples", "list values of at least 2")
        _require(len(self.hdbscan_min_cluster_shares) > 0
                 and all(0 < share < 1 for share in self.hdbscan_min_cluster_shares),
                 "hdbscan_min_cluster_shares", "list shares between 0 and 1")
        _require(self.stability_resamples >= 2, "stability_resamples",
                 "must be at least 2 (pairs of refits are compared)")
        _require(0 < self.stability_fraction < 1, "stability_fraction", "must lie strictly between 0 and 1")
        _require(-1 <= self.min_stability <= 1, "min_stability", "must lie between -1 and 1")
        _require(0 <= self.min_cluster_share < 1, "min_cluster_share", "must lie in [0, 1)")
        _require(0 <= self.max_noise_share <= 1, "max_noise_share", "must lie in [0, 1]")
        _require(-1 <= self.min_silhouette <= 1, "min_silhouette", "must lie between -1 and 1")
        _require(self.min_population >= 2, "min_population", "must be at least 2")
        _require(self.chunk_size >= 1, "chunk_size", "must be at least 1")
        _require(self.threads >= 1, "threads", "must be at least 1")
        _require(self.processes >= 1, "processes", "must be at least 1")
        _require(bool(self.noise_segment_name.strip()), "noise_segment_name", "must not be empty")

    def parameter_grid(self, algorithm: str) -> tuple[float, ...]:
        """The parameter values tried for `algorithm` (k, components, min_samples or min cluster share)."""
        if algorithm == "dbscan":
            return tuple(float(value) for value in self.dbscan_min_samples)
        if algorithm == "hdbscan":
            return tuple(float(value) for value in self.hdbscan_min_cluster_shares)
        return tuple(float(k) for k in range(self.k_min, self.k_max + 1))


PARAMETER_NAMES: dict[str, str] = {
    "kmeans": "n_clusters",
    "hierarchical": "n_clusters",
    "gmm": "n_components",
    "dbscan": "min_samples",
    "hdbscan": "min_cluster_share",
}


def _require(condition: bool, name: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"dbt var clustering_{name}: {message}")


def project_config(project_file: Path = PROJECT_FILE) -> ClusteringConfig:
    """The settings as declared in dbt_project.yml, for code that runs outside dbt."""
    project = yaml.safe_load(project_file.read_text())
    values = {name.removeprefix(VAR_PREFIX): value for name, value in project["vars"].items()
              if name.startswith(VAR_PREFIX)}
    return ClusteringConfig.from_mapping(values)


Kind = tuple[type, bool]  # (scalar type, is a list of it)
KINDS: dict[str, Kind] = {
    "int": (int, False), "float": (float, False), "str": (str, False),
    "tuple[int, ...]": (int, True), "tuple[float, ...]": (float, True), "tuple[str, ...]": (str, True),
}


def _kind_of(annotation: Any) -> Kind:
    return KINDS[annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")]


def _parse(name: str, value: Any, kind: Kind) -> Any:
    """Coerce a var to its setting's type; vars arrive as YAML scalars or lists (or strings from the command
    line)."""
    item_type, is_list = kind
    try:
        if is_list:
            if isinstance(value, str) or not hasattr(value, "__iter__"):
                raise TypeError("expected a list")
            return tuple(_scalar(item_type, item) for item in value)
        return _scalar(item_type, value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"dbt var clustering_{name}: cannot use {value!r} ({error})") from error


def _scalar(kind: type, value: Any) -> Any:
    if isinstance(value, bool) and kind is not bool:
        raise TypeError(f"expected {kind.__name__}, got a boolean")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("expected a whole number")
        return int(value)
    if kind is float:
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise TypeError("expected text")
        return value
    raise TypeError(f"unsupported setting type {kind.__name__}")
