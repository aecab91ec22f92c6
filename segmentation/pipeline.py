"""The clustering stage end to end, as the dbt Python models in models_py/ call it.

`evaluate_candidates` fits every configured algorithm and parameter value on a seeded sample and scores them
(`cluster_evaluation`, which keeps each algorithm's chosen model); `segment_patients` labels every patient
with those stored models (`patient_segments`); `segment_centroids` and `segment_feature_importance` profile
the selected segments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from segmentation.algorithms import Assignment
from segmentation.config import ALGORITHMS, ClusteringConfig
from segmentation.evaluation import RULE_BASED, evaluate
from segmentation.features import (
    CATALOGUE,
    FeatureError,
    FeatureMatrix,
    Standardization,
    build_feature_matrix,
    validate_patient_frame,
)
from segmentation.naming import name_segments
from segmentation.profiles import centroids, feature_importance, segment_statistics
from segmentation.stored import EVALUATION_SOURCE, load_model, sample_fingerprint

TRUTH_SOURCE = "source synthetic_truth.patient_archetypes"  # as dbt's lineage names it, for messages
RULE_SEGMENTS_SOURCE = "marts.patient_rule_segments"
RULE_SEGMENT_COLUMNS: tuple[str, ...] = ("subject_id", "segment_priority", "segment_name")
SEGMENT_COLUMNS: tuple[str, ...] = (
    "subject_id", "segment_id", "segment_name", "segmentation_method", "selected_algorithm",
    *(f"{algorithm}_label" for algorithm in ALGORITHMS),
)


@dataclass(frozen=True)
class Population:
    """Validated patients in subject_id order, their standardized features and the seeded sample."""

    frame: pd.DataFrame
    matrix: FeatureMatrix
    sample: np.ndarray

    @property
    def sample_values(self) -> np.ndarray:
        return self.matrix.standardized[self.sample]

    @property
    def fingerprint(self) -> str:
        return sample_fingerprint(len(self.frame), self.frame["subject_id"].to_numpy()[self.sample],
                                  self.sample_values)


def sample_rows(n: int, config: ClusteringConfig) -> np.ndarray:
    """Row positions of the seeded sample (everyone when the population is not larger than the sample)."""
    if n <= config.sample_size:
        return np.arange(n)
    rng = np.random.default_rng(config.random_seed)
    return np.sort(rng.choice(n, size=config.sample_size, replace=False))


def prepare(features: pd.DataFrame, config: ClusteringConfig) -> Population:
    frame = validate_patient_frame(features, [spec.column for spec in CATALOGUE])
    return Population(frame=frame, matrix=build_feature_matrix(frame, config.features, config.chunk_size),
                      sample=sample_rows(len(frame), config))


def truth_codes(population: Population, truth: pd.DataFrame | None) -> np.ndarray | None:
    """Archetype of each sampled patient as integer codes, for the evaluation-only ARI."""
    if truth is None:
        return None
    missing = [column for column in ("subject_id", "archetype") if column not in truth.columns]
    if missing:
        raise FeatureError(f"{TRUTH_SOURCE} lacks column(s) {', '.join(missing)}")
    sampled = population.frame["subject_id"].to_numpy()[population.sample]
    archetypes = truth.drop_duplicates("subject_id").set_index("subject_id")["archetype"].reindex(sampled)
    if archetypes.isna().any():
        examples = sampled[archetypes.isna().to_numpy()][:5].tolist()
        raise FeatureError(
            f"{TRUTH_SOURCE} has no archetype for {int(archetypes.isna().sum())} sampled patient(s), e.g. "
            f"subject_id {examples}: it does not belong to the same generation as the raw tables"
        )
    return pd.factorize(archetypes, sort=True)[0]


def evaluate_candidates(features: pd.DataFrame, config: ClusteringConfig,
                        truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """cluster_evaluation: one row per algorithm and parameter value tried."""
    population = prepare(features, config)
    with threadpool_limits(limits=config.threads):
        return evaluate(population.sample_values, truth_codes(population, truth), config,
                        population.fingerprint, len(population.frame))


def chosen_models(evaluation: pd.DataFrame,
                  config: ClusteringConfig) -> tuple[dict[str, object], str | None]:
    """Each configured algorithm's stored model and the selected algorithm (cluster_evaluation); None when no
    clustering qualified."""
    needed = {"algorithm", "fitted_model", "is_algorithm_choice", "is_selected"}
    missing = sorted(needed - set(evaluation.columns))
    if missing:
        raise FeatureError(f"{EVALUATION_SOURCE} lacks column(s) {', '.join(missing)}")
    choices = evaluation[evaluation["is_algorithm_choice"].astype(bool)]
    absent = [algorithm for algorithm in config.algorithms if algorithm not in set(choices["algorithm"])]
    if absent or choices["algorithm"].duplicated().any():
        raise FeatureError(
            f"{EVALUATION_SOURCE} must hold exactly one chosen row per configured algorithm; missing: "
            f"{', '.join(absent) or 'none'}. Rebuild it with the same clustering_* vars"
        )
    selected = evaluation.loc[evaluation["is_selected"].astype(bool), "algorithm"]
    if len(selected) > 1 or (len(selected) == 1 and selected.iloc[0] not in config.algorithms):
        raise FeatureError(f"{EVALUATION_SOURCE} must flag at most one selected row, of a configured "
                           "algorithm")
    models = dict(zip(choices["algorithm"], choices["fitted_model"], strict=True))
    return models, (str(selected.iloc[0]) if len(selected) else None)


def check_rule_segment_columns(columns: Iterable[str]) -> None:
    missing = [column for column in RULE_SEGMENT_COLUMNS if column not in set(columns)]
    if missing:
        raise FeatureError(f"{RULE_SEGMENTS_SOURCE} lacks column(s) {', '.join(missing)}")


def rule_segments_mismatch() -> FeatureError:
    return FeatureError(f"{RULE_SEGMENTS_SOURCE} must hold exactly one row per patient of "
                        "marts.patient_features: rebuild it")


def rule_segment_names(rule_segments: pd.DataFrame) -> pd.Series:
    """Rule-based segment names by id (the segment's priority), from the first row of each."""
    return rule_segments.drop_duplicates("segment_priority").set_index("segment_priority")["segment_name"]


def rule_segment_ids(frame: pd.DataFrame, rule_segments: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
    """Each patient's rule-based segment (id = its priority) in frame order, and the names by id."""
    check_rule_segment_columns(rule_segments.columns)
    by_patient = rule_segments.drop_duplicates("subject_id").set_index("subject_id")
    priorities = by_patient["segment_priority"].reindex(frame["subject_id"])
    if priorities.isna().any() or len(by_patient) != len(rule_segments):
        raise rule_segments_mismatch()
    return priorities.to_numpy(dtype=np.int64), rule_segment_names(by_patient)


def stored_assignments(models: dict[str, object], config: ClusteringConfig, fingerprint: str,
                       sample_values: np.ndarray) -> dict[str, Assignment]:
    """Each configured algorithm's stored model (`chosen_models`), checked against the current sample."""
    return {algorithm: load_model(models[algorithm], algorithm, config.features, fingerprint, sample_values)
            for algorithm in config.algorithms}


def label_columns(standardized: np.ndarray, assignments: dict[str, Assignment],
                  config: ClusteringConfig) -> dict[str, np.ndarray]:
    """Each algorithm's label of every row, as `<algorithm>_label`."""
    with threadpool_limits(limits=config.threads):
        return {f"{algorithm}_label": assignment.assign(standardized, config.chunk_size)
                for algorithm, assignment in assignments.items()}


def label_patients(patients: pd.DataFrame, standardization: Standardization,
                   assignments: dict[str, Assignment], config: ClusteringConfig) -> pd.DataFrame:
    """subject_id and each algorithm's label of some patients of the population (any part of it, in any row
    order), in subject_id order: their rows of what `segment_patients` labels on the whole population, since
    `standardization` is the population's."""
    frame = validate_patient_frame(patients, config.features)
    standardized = standardization.standardize(standardization.transformed(frame))
    return pd.DataFrame({"subject_id": frame["subject_id"].to_numpy(),
                         **label_columns(standardized, assignments, config)})


def segment_frame(subject_ids: np.ndarray, segment_ids: np.ndarray, names: pd.Series,
                  labels: dict[str, np.ndarray], selected: str | None) -> pd.DataFrame:
    """patient_segments' rows: the segment of record with its name (`names` by segment id), how it was found,
    and the label of every configured algorithm (NULL for the others)."""
    frame = pd.DataFrame({
        "subject_id": subject_ids,
        "segment_id": segment_ids,
        "segment_name": names.reindex(segment_ids).to_numpy(),
        "segmentation_method": RULE_BASED if selected is None else selected,
        "selected_algorithm": selected,
    })
    for algorithm in ALGORITHMS:
        column = f"{algorithm}_label"
        # Built from values and a NULL mask: converting element by element takes longer than labelling.
        configured = column in labels
        values = labels[column] if configured else np.zeros(len(frame), dtype=np.int64)
        frame[column] = pd.arrays.IntegerArray(values, np.full(len(frame), not configured))
    return frame.loc[:, list(SEGMENT_COLUMNS)]


def segment_patients(features: pd.DataFrame, evaluation: pd.DataFrame, naming_rules: pd.DataFrame,
                     rule_segments: pd.DataFrame, config: ClusteringConfig) -> pd.DataFrame:
    """patient_segments: every patient once, with the segment of record (the selected clustering's, or the
    rule-based one when no clustering qualified) and each algorithm's label."""
    population = prepare(features, config)
    models, selected = chosen_models(evaluation, config)
    assignments = stored_assignments(models, config, population.fingerprint, population.sample_values)
    labels = label_columns(population.matrix.standardized, assignments, config)
    if selected is None:
        segment_ids, names = rule_segment_ids(population.frame, rule_segments)
    else:
        segment_ids = labels[f"{selected}_label"]
        statistics = segment_statistics(population.frame, segment_ids, config.chunk_size)
        names = name_segments(statistics, naming_rules, config.noise_segment_name)
    return segment_frame(population.frame["subject_id"].to_numpy(), segment_ids, names, labels, selected)


def segment_names(segments: pd.DataFrame) -> pd.Series:
    return segments.drop_duplicates("segment_id").set_index("segment_id")["segment_name"]


def aligned_segments(features: pd.DataFrame, segments: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Patients with their segment id, checking that every patient has exactly one segment."""
    frame = validate_patient_frame(features, [spec.column for spec in CATALOGUE])
    by_patient = segments.drop_duplicates("subject_id").set_index("subject_id")["segment_id"]
    if len(by_patient) != len(segments):
        raise FeatureError("patient_segments lists a patient more than once")
    segment_ids = by_patient.reindex(frame["subject_id"])
    if segment_ids.isna().any() or len(segments) != len(frame):
        raise FeatureError(
            f"patient_segments does not cover exactly the patients of marts.patient_features "
            f"({len(segments)} segment rows, {len(frame)} patients): rebuild patient_segments"
        )
    return frame, segment_ids.to_numpy(dtype=np.int64)


def segment_profile(features: pd.DataFrame, segments: pd.DataFrame,
                    config: ClusteringConfig) -> tuple[pd.DataFrame, pd.Series]:
    frame, segment_ids = aligned_segments(features, segments)
    return segment_statistics(frame, segment_ids, config.chunk_size), segment_names(segments)


def segment_centroids(features: pd.DataFrame, segments: pd.DataFrame,
                      config: ClusteringConfig) -> pd.DataFrame:
    """segment_centroids: per selected segment and feature, the mean in original units."""
    statistics, names = segment_profile(features, segments, config)
    return centroids(statistics, names, config.features)


def segment_feature_importance(features: pd.DataFrame, segments: pd.DataFrame,
                               config: ClusteringConfig) -> pd.DataFrame:
    """segment_feature_importance: per selected segment, features ranked by standardized mean difference."""
    statistics, names = segment_profile(features, segments, config)
    return feature_importance(statistics, names, config.features)
