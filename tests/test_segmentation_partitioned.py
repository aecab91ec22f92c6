"""patient_segments computed part by part (segmentation/partitioned.py, what Spark runs in its workers) equals
segment_patients on the whole frame, to the last bit; no Spark needed: the parts are pandas frames here."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import REPO_ROOT

from segmentation.config import ALGORITHMS, ClusteringConfig, project_config
from segmentation.features import (
    FeatureError,
    add_rows,
    build_feature_matrix,
    column_means,
    column_sums,
    row_blocks,
)
from segmentation.naming import name_segments
from segmentation.partitioned import (
    Scan,
    ScannedPopulation,
    batch_maxima,
    chunk_moment_rows,
    chunk_numbers,
    in_subject_order,
    label_chunk,
    population_fills,
    scan_batches,
    scanned_population,
    segment_rows,
    squared_deviation_batches,
    statistics_of_chunks,
    wanted_positions,
)
from segmentation.pipeline import (
    chosen_models,
    evaluate_candidates,
    label_patients,
    prepare,
    rule_segment_ids,
    segment_patients,
    stored_assignments,
)
from segmentation.profiles import segment_statistics
from segmentation.synthetic import make_feature_frame, stand_in_rule_segments

RULES = pd.read_csv(REPO_ROOT / "seeds" / "segment_naming_rules.csv")
# Every algorithm (each labeller), several chunks and a sample smaller than the population.
CONFIG = replace(project_config(), algorithms=ALGORITHMS, k_min=2, k_max=5, sample_size=600,
                 dbscan_min_samples=(10,), hdbscan_min_cluster_shares=(0.05,), stability_resamples=2,
                 kmeans_n_init=2, chunk_size=350)


def parts(frame: pd.DataFrame, n_parts: int, seed: int) -> list[pd.DataFrame]:
    """The frame's rows shuffled into parts of uneven sizes."""
    shuffled = frame.sample(frac=1.0, random_state=seed)
    cuts = np.sort(np.random.default_rng(seed).choice(np.arange(1, len(frame)), n_parts - 1, replace=False))
    bounds = [0, *cuts.tolist(), len(frame)]
    return [shuffled.iloc[start:end] for start, end in zip(bounds[:-1], bounds[1:], strict=True)]


def sorted_batches(frame: pd.DataFrame, batch_rows: int) -> list[pd.DataFrame]:
    ordered = frame.sort_values("subject_id")
    return [ordered.iloc[start:start + batch_rows] for start in range(0, len(ordered), batch_rows)]


def scan(features: pd.DataFrame, config: ClusteringConfig) -> ScannedPopulation:
    """The population as Spark scans it: maxima from shuffled parts, then the two ordered passes."""
    clustering = features.loc[:, ["subject_id", *config.features]]
    maxima = pd.concat(batch_maxima(parts(clustering, 3, seed=1), config.features))
    n_patients, fills = population_fills(maxima, config.features)
    batches = sorted_batches(clustering, 97)
    wanted = wanted_positions(n_patients, config)
    first = Scan.of(pd.concat(scan_batches(batches, config.features, fills, wanted)), len(config.features))
    means = column_means(first.sums, first.n_patients)
    squares = next(squared_deviation_batches(batches, config.features, fills, means))["transformed"].iloc[0]
    return scanned_population(first, np.array(squares), fills, config)


def partitioned_segments(features: pd.DataFrame, evaluation: pd.DataFrame, rule_segments: pd.DataFrame,
                         config: ClusteringConfig) -> pd.DataFrame:
    """spark_engine.segments.segment_patients with pandas in place of Spark's groupings and joins."""
    population = scan(features, config)
    models, selected = chosen_models(evaluation, config)
    assignments = stored_assignments(models, config, population.fingerprint, population.sample_values)
    chunked = features.assign(chunk=chunk_numbers(features["subject_id"].to_numpy(), population.chunk_starts))
    shuffled = chunked.sample(frac=1.0, random_state=2)
    labels = pd.concat(label_chunk(chunk, population.standardization, assignments, config)
                       for _, chunk in shuffled.groupby("chunk"))
    if selected is None:
        ordered = labels.sort_values("subject_id")
        segment_ids, names = rule_segment_ids(ordered, rule_segments)
        segments = ordered.assign(segment_id=segment_ids)
    else:
        segments = labels.assign(segment_id=labels[f"{selected}_label"])
        segment_ids = np.unique(segments["segment_id"])
        joined = shuffled.drop(columns="chunk").merge(segments[["subject_id", "chunk", "segment_id"]],
                                                      on="subject_id")
        rows = pd.concat(chunk_moment_rows(chunk, segment_ids)
                         for _, chunk in joined.sample(frac=1.0, random_state=3).groupby("chunk"))
        names = name_segments(statistics_of_chunks(rows, segment_ids), RULES, config.noise_segment_name)
    label_columns = [f"{algorithm}_label" for algorithm in config.algorithms]
    rows = pd.concat(segment_rows(parts(segments, 4, seed=4), names, selected, label_columns))
    return rows.sort_values("subject_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return make_feature_frame(2000, seed=3)[0]


@pytest.fixture(scope="module")
def evaluation(population: pd.DataFrame) -> pd.DataFrame:
    return evaluate_candidates(population, CONFIG)


# --- the sums ----------------------------------------------------------------------------------------------

def test_row_by_row_sums_are_numpys_whatever_the_blocks() -> None:
    values = np.random.default_rng(5).lognormal(size=(10_007, 4)) * [1, 10, 1000, 1e6]
    for block_rows in (1, 3, 97, 4096, 10_007):
        assert column_sums(row_blocks(values, block_rows), 4).tobytes() == values.sum(axis=0).tobytes()
    # numpy sums a single column pairwise; folded row by row it still does not depend on the blocks.
    column = values[:, :1]
    assert len({column_sums(row_blocks(column, rows), 1).tobytes() for rows in (1, 97, 10_007)}) == 1
    assert add_rows(None, values[:0]) is None


def test_the_feature_matrix_does_not_depend_on_the_block_size(population: pd.DataFrame) -> None:
    frame = prepare(population, CONFIG).frame
    matrices = [build_feature_matrix(frame, CONFIG.features, rows).standardized for rows in (1, 350, 5000)]
    assert matrices[0].tobytes() == matrices[1].tobytes() == matrices[2].tobytes()


def test_the_scanned_population_is_prepares(population: pd.DataFrame) -> None:
    whole = prepare(population, CONFIG)
    scanned = scan(population, CONFIG)
    assert scanned.standardization.means.tobytes() == whole.matrix.standardization.means.tobytes()
    assert scanned.standardization.scales.tobytes() == whole.matrix.standardization.scales.tobytes()
    assert scanned.sample_values.tobytes() == whole.sample_values.tobytes()
    assert scanned.fingerprint == whole.fingerprint
    assert scanned.chunk_starts.tolist() == whole.frame["subject_id"].iloc[::CONFIG.chunk_size].tolist()


def test_an_empty_population_scans_to_zeros() -> None:
    first = Scan.of(pd.concat(scan_batches([], CONFIG.features, np.zeros(len(CONFIG.features)),
                                           np.empty(0, dtype=np.int64))), len(CONFIG.features))
    assert first.n_patients == 0 and not first.sums.any()
    assert first.transformed.shape == (0, len(CONFIG.features))


def test_patients_out_of_order_or_twice_are_refused(population: pd.DataFrame) -> None:
    batches = sorted_batches(population.loc[:, ["subject_id", *CONFIG.features]], 100)
    with pytest.raises(RuntimeError, match="subject_id order"):
        list(in_subject_order([batches[1], batches[0]], CONFIG.features))
    with pytest.raises(RuntimeError, match="subject_id order"):
        list(in_subject_order([batches[0].iloc[::-1]], CONFIG.features))
    with pytest.raises(FeatureError, match="not unique"):
        list(in_subject_order([batches[0], batches[0].tail(1)], CONFIG.features))


# --- labels, names and rows ------------------------------------------------------------------------------

def test_labelled_part_by_part_as_on_the_whole_population(population: pd.DataFrame,
                                                          evaluation: pd.DataFrame) -> None:
    rule_segments = stand_in_rule_segments(population)
    whole = segment_patients(population, evaluation, RULES, rule_segments, CONFIG)
    assert whole["selected_algorithm"].notna().all() and len(set(whole["segment_id"])) > 1
    pd.testing.assert_frame_equal(partitioned_segments(population, evaluation, rule_segments, CONFIG), whole,
                                  check_exact=True)


def test_rule_based_segments_part_by_part(population: pd.DataFrame, evaluation: pd.DataFrame) -> None:
    rule_segments = stand_in_rule_segments(population)
    config = replace(CONFIG, min_population=len(population) + 1)
    unselected = evaluation.assign(is_selected=False)
    whole = segment_patients(population, unselected, RULES, rule_segments, config)
    assert (whole["segmentation_method"] == "rule_based").all()
    pd.testing.assert_frame_equal(partitioned_segments(population, unselected, rule_segments, config), whole,
                                  check_exact=True)


def test_any_split_of_the_population_gets_the_same_labels(population: pd.DataFrame,
                                                          evaluation: pd.DataFrame) -> None:
    whole = prepare(population, CONFIG)
    models, _ = chosen_models(evaluation, CONFIG)
    assignments = stored_assignments(models, CONFIG, whole.fingerprint, whole.sample_values)
    labelled = label_patients(population, whole.matrix.standardization, assignments, CONFIG)
    split = pd.concat(label_patients(part, whole.matrix.standardization, assignments, CONFIG)
                      for part in parts(population, 5, seed=6))
    pd.testing.assert_frame_equal(split.sort_values("subject_id").reset_index(drop=True), labelled)


def test_chunk_moments_add_up_to_the_segment_statistics(population: pd.DataFrame) -> None:
    frame = prepare(population, CONFIG).frame
    segment_ids = (frame["subject_id"] % 5 - 1).to_numpy()
    segments = np.unique(segment_ids)
    chunked = frame.assign(segment_id=segment_ids, chunk=np.arange(len(frame)) // CONFIG.chunk_size)
    rows = pd.concat(chunk_moment_rows(chunk, segments)
                     for _, chunk in chunked.sample(frac=1.0, random_state=8).groupby("chunk"))
    pd.testing.assert_frame_equal(statistics_of_chunks(rows.sample(frac=1.0, random_state=9), segments),
                                  segment_statistics(frame, segment_ids, CONFIG.chunk_size), check_exact=True)
