"""The clustering models in models_py/ as dbt builds them, on the shared fixture warehouses."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import run_dbt

from segmentation.config import ALGORITHMS, project_config
from segmentation.naming import name_violations
from segmentation.pipeline import aligned_segments
from segmentation.profiles import segment_statistics

pytestmark = pytest.mark.dbt


def read(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).df()


def copy_warehouse(warehouse: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    return copy


def assert_one_named_segment_per_patient(warehouse: Path) -> None:
    counts = read(warehouse, """
        select
            (select count(*) from marts.patient_features) as patients,
            (select count(*) from marts.patient_segments) as segment_rows,
            (select count(distinct subject_id) from marts.patient_segments) as segmented_patients,
            (select count(distinct segment_id) from marts.patient_segments) as segments,
            (select count(distinct segment_name) from marts.patient_segments) as names
    """).iloc[0]
    assert counts["patients"] == counts["segment_rows"] == counts["segmented_patients"] > 0
    assert counts["segments"] == counts["names"]


@pytest.mark.parametrize("fixture_name", ["mimic_fixture_warehouse", "synthetic_warehouse"])
def test_models_cover_every_patient_and_algorithm(fixture_name: str, request: pytest.FixtureRequest) -> None:
    warehouse = request.getfixturevalue(fixture_name)
    assert_one_named_segment_per_patient(warehouse)
    evaluation = read(warehouse, "select * from marts.cluster_evaluation")
    assert set(evaluation["algorithm"]) == set(project_config().algorithms)
    assert evaluation["is_selected"].sum() <= 1
    centroids = read(warehouse, "select distinct segment_id from marts.segment_centroids")
    segments = read(warehouse, "select distinct segment_id from marts.patient_segments")
    assert set(centroids["segment_id"]) == set(segments["segment_id"])


# tests/fixtures/mimic/README.md, "Expected rule-based segments": patient number -> segment_priority.
FIXTURE_RULE_SEGMENTS = {
    **dict.fromkeys([5, 13, 14], 1),
    **dict.fromkeys([2, 16, 25], 2),
    **dict.fromkeys([1, 4, 9, 15, 19, 24, 27, 28], 3),
    21: 4,
    **dict.fromkeys([6, 7, 8, 10, 11, 12, 17, 18, 20, 22, 23], 5),
    **dict.fromkeys([3, 26], 7),
}


def test_a_small_real_population_gets_the_rule_based_segments(mimic_fixture_warehouse: Path) -> None:
    segments = read(mimic_fixture_warehouse, """
        select subject_id - 10100000 as patient, segment_id, segment_name, segmentation_method
        from marts.patient_segments order by subject_id
    """).set_index("patient")
    assert segments["segment_id"].to_dict() == FIXTURE_RULE_SEGMENTS
    assert (segments["segmentation_method"] == "rule_based").all()
    assert segments.loc[27, "segment_name"] == "Organ failure with exacerbations"
    info = read(mimic_fixture_warehouse, "select * from bi.build_info").iloc[0]
    assert info["segmentation_method"] == "rule_based"
    assert "population of 28 patients is below clustering_min_population" in info["segmentation_reason"]
    assert (info["data_source"], info["data_end_real_year"]) == ("MIMIC-IV files (loader)", 2022)
    assert info["n_patients"] == 28


def test_synthetic_segment_names_are_true_of_their_members(synthetic_warehouse: Path) -> None:
    segments = read(synthetic_warehouse, "select * from marts.patient_segments")
    features = read(synthetic_warehouse, "select * from marts.patient_features order by subject_id")
    rules = read(synthetic_warehouse, "select * from reference.segment_naming_rules")
    config = project_config()
    frame, segment_ids = aligned_segments(features, segments)
    statistics = segment_statistics(frame, segment_ids, config.chunk_size)
    names = segments.drop_duplicates("segment_id").set_index("segment_id")["segment_name"]
    assert name_violations(statistics, names, rules).empty
    # Deaths are an outcome, not an input: no segment is made of the dead.
    mortality = features.merge(segments, on="subject_id").groupby("segment_name")["died_within_1y"].mean()
    assert (mortality < 0.9).all(), mortality
    info = read(synthetic_warehouse, "select * from bi.build_info").iloc[0]
    assert info["segmentation_method"] == segments["segmentation_method"].iloc[0]
    assert info["data_source"] == "synthetic population (generator)"


def test_real_data_has_no_truth_agreement(mimic_fixture_warehouse: Path) -> None:
    evaluation = read(mimic_fixture_warehouse, "select ari_vs_truth from marts.cluster_evaluation")
    assert evaluation["ari_vs_truth"].isna().all()


def test_synthetic_segments_recover_the_archetypes(synthetic_warehouse: Path) -> None:
    evaluation = read(synthetic_warehouse, "select * from marts.cluster_evaluation")
    assert evaluation["ari_vs_truth"].notna().all()
    selected = evaluation[evaluation["is_selected"]].iloc[0]
    assert selected["ari_vs_truth"] >= 0.8


EVALUATION_FIGURES = (
    "select * exclude (fit_seconds) from marts.cluster_evaluation order by algorithm, parameter_value"
)
SEGMENTS = "select * from marts.patient_segments order by subject_id"


def test_rebuild_gives_the_same_segments_and_figures(synthetic_warehouse: Path, tmp_path: Path) -> None:
    copy = copy_warehouse(synthetic_warehouse, tmp_path)
    run_dbt(["run", "--select", "path:models_py"], copy, tmp_path / "dbt")
    pd.testing.assert_frame_equal(read(copy, EVALUATION_FIGURES),
                                  read(synthetic_warehouse, EVALUATION_FIGURES))
    pd.testing.assert_frame_equal(read(copy, SEGMENTS), read(synthetic_warehouse, SEGMENTS))


def test_vars_configure_the_models(mimic_fixture_warehouse: Path, tmp_path: Path) -> None:
    copy = copy_warehouse(mimic_fixture_warehouse, tmp_path)
    overrides = "{clustering_algorithms: [kmeans, gmm], clustering_k_max: 4, clustering_sample_size: 20}"
    run_dbt(["build", "--select", "path:models_py", "--vars", overrides], copy, tmp_path / "dbt")
    evaluation = read(copy, "select algorithm, parameter_value, sample_size from marts.cluster_evaluation")
    assert set(evaluation["algorithm"]) == {"kmeans", "gmm"}
    assert evaluation["parameter_value"].max() == 4
    assert (evaluation["sample_size"] == 20).all()
    labels = read(copy, "select * from marts.patient_segments")
    assert labels[["kmeans_label", "gmm_label"]].notna().all().all()
    assert set(labels["selected_algorithm"].dropna()) <= {"kmeans", "gmm"}
    unconfigured = [f"{algorithm}_label" for algorithm in ALGORITHMS if algorithm not in ("kmeans", "gmm")]
    assert labels[unconfigured].isna().all().all()


def test_bad_var_stops_the_build_naming_it(mimic_fixture_warehouse: Path, tmp_path: Path) -> None:
    copy = copy_warehouse(mimic_fixture_warehouse, tmp_path)
    result = run_dbt(["run", "--select", "cluster_evaluation", "--vars", "{clustering_k_min: 1}"], copy,
                     tmp_path / "dbt", check=False)
    assert result.returncode != 0
    assert "dbt var clustering_k_min" in result.stdout
