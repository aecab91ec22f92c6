"""The clustering module (segmentation/) on synthetic patient_features frames with known groups."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO_ROOT
from scipy.cluster.hierarchy import fcluster, ward
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score

import segmentation.algorithms as algorithms
import segmentation.evaluation as evaluation_module
from segmentation.algorithms import NOISE, NearestCentroid, NearestDenseNeighbour, fit_family, knee_eps
from segmentation.bench import run_benchmark
from segmentation.config import ALGORITHMS, ClusteringConfig, ConfigError, project_config
from segmentation.evaluation import EVALUATION_COLUMNS, sample_distances, silhouettes
from segmentation.features import CATALOGUE, FeatureError, build_feature_matrix, validate_patient_frame
from segmentation.naming import NamingRuleError, base_name, name_segments, name_violations
from segmentation.pipeline import (
    SEGMENT_COLUMNS,
    evaluate_candidates,
    sample_rows,
    segment_centroids,
    segment_feature_importance,
    segment_patients,
)
from segmentation.profiles import segment_statistics
from segmentation.stored import dump_model, load_model
from segmentation.synthetic import make_feature_frame, stand_in_rule_segments

Frames = tuple[pd.DataFrame, pd.DataFrame]
RULES = pd.read_csv(REPO_ROOT / "seeds" / "segment_naming_rules.csv")
# Small grids keep the suite quick; the defaults are exercised by the dbt builds and the benchmark. Every
# supported algorithm runs, HDBSCAN included.
FAST = replace(project_config(), algorithms=ALGORITHMS, k_min=2, k_max=7, sample_size=800,
              dbscan_min_samples=(10,), hdbscan_min_cluster_shares=(0.05,), stability_resamples=2,
              kmeans_n_init=2)


def run_stage(features: pd.DataFrame, config: ClusteringConfig,
              truth: pd.DataFrame | None = None) -> Frames:
    evaluation = evaluate_candidates(features, config, truth)
    return evaluation, segment_patients(features, evaluation, RULES, stand_in_rule_segments(features), config)


@pytest.fixture(scope="module")
def population() -> Frames:
    return make_feature_frame(2000, seed=3)


@pytest.fixture(scope="module")
def staged(population: Frames) -> Frames:
    features, truth = population
    return run_stage(features, FAST, truth)


# --- recovering known groups ----------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_algorithm_recovers_separated_blobs(algorithm: str) -> None:
    values, truth = make_blobs(n_samples=600, centers=4, n_features=5, cluster_std=0.6, random_state=1)
    config = replace(FAST, dbscan_min_samples=(8,), hdbscan_min_cluster_shares=(0.1,))
    parameter = {"dbscan": 8.0, "hdbscan": 0.1}.get(algorithm, 4.0)
    (clustering,) = fit_family(algorithm, values, [parameter], config)
    labels = clustering.assign(values, chunk_size=128)
    clustered = labels != NOISE
    assert clustered.mean() > 0.9
    assert adjusted_rand_score(truth[clustered], labels[clustered]) > 0.95


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_stored_model_labels_exactly_as_the_fitted_one(algorithm: str) -> None:
    values, _ = make_blobs(n_samples=600, centers=4, n_features=5, cluster_std=0.9, random_state=2)
    parameter = {"dbscan": 8.0, "hdbscan": 0.05}.get(algorithm, 4.0)
    (clustering,) = fit_family(algorithm, values, [parameter], FAST)
    stored = load_model(dump_model(clustering, FAST.features, "sample"), algorithm, FAST.features, "sample",
                        values)
    patients = np.random.default_rng(4).normal(0, 4, size=(3000, 5))
    np.testing.assert_array_equal(stored.assign(patients, chunk_size=700),
                                  clustering.assign(patients, chunk_size=700))


def test_nearest_dense_neighbour_within_its_radius() -> None:
    rng = np.random.default_rng(6)
    reference = rng.normal(size=(300, 4))
    labels, radii = rng.integers(0, 5, size=300), rng.uniform(0.1, 0.6, size=300)
    labeller = NearestDenseNeighbour.build(reference, np.arange(300), labels, radii)
    patients = rng.normal(size=(2000, 4)) * 1.3
    distances = np.linalg.norm(patients[:, None, :] - reference[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    within = distances[np.arange(len(patients)), nearest] <= radii[nearest]
    expected = np.where(within, labels[nearest], NOISE)
    np.testing.assert_array_equal(labeller.raw_labels(patients), expected)
    assert 0 < within.mean() < 1


def test_silhouettes_equal_sklearn() -> None:
    values, truth = make_blobs(n_samples=700, centers=3, n_features=4, random_state=3)
    with_noise = np.where(np.arange(700) % 17 == 0, NOISE, truth)
    singleton = truth.copy()
    singleton[5] = 9
    labellings = [truth, with_noise, singleton, np.zeros(700, dtype=np.int64), np.arange(700)]
    scores = silhouettes(sample_distances(values), labellings)
    for labels, score in zip(labellings[:3], scores[:3], strict=True):
        assert score == pytest.approx(silhouette_score(values, labels), abs=1e-6)
    assert scores[3:] == [None, None]


def by_rows(points: np.ndarray) -> np.ndarray:
    """Points in lexicographic order of their coordinates: centroids compared whatever their cluster ids."""
    return points[np.lexsort(points.T[::-1])]


def test_ward_cuts_are_the_partitions_of_scipys_ward() -> None:
    """fastcluster builds the tree; each cut must be the partition scipy's reference Ward gives (seen through
    the cluster centroids the labeller keeps), on standardized patients whose rounded counts repeat many rows
    (distance ties, as on real data)."""
    features, _ = make_feature_frame(1500, seed=8)
    matrix = build_feature_matrix(validate_patient_frame(features, FAST.features), FAST.features, 500)
    values = matrix.standardized
    assert len(np.unique(values, axis=0)) < 0.9 * len(values)
    ks = list(range(2, 9))
    fitted = fit_family("hierarchical", values, ks, FAST)
    reference = ward(values)
    for k, clustering in zip(ks, fitted, strict=True):
        partition = fcluster(reference, k, criterion="maxclust")
        expected = np.array([values[partition == cluster].mean(axis=0) for cluster in np.unique(partition)])
        assert isinstance(clustering.labeller, NearestCentroid)
        np.testing.assert_allclose(by_rows(clustering.labeller.centroids), by_rows(expected), rtol=0,
                                   atol=1e-12, err_msg=f"k = {k}")


def test_selected_segmentation_recovers_the_archetypes(staged: Frames,
                                                       population: Frames) -> None:
    evaluation, segments = staged
    selected = evaluation[evaluation["is_selected"]].iloc[0]
    assert selected["ari_vs_truth"] >= 0.8
    merged = segments.merge(population[1], on="subject_id")
    assert adjusted_rand_score(merged["archetype"], merged["segment_id"]) >= 0.8


# --- evaluation table -----------------------------------------------------------------------------------

def test_evaluation_has_every_configured_algorithm_and_one_selection(staged: Frames
                                                                     ) -> None:
    evaluation, _ = staged
    assert tuple(evaluation.columns) == EVALUATION_COLUMNS
    assert set(evaluation["algorithm"]) == set(FAST.algorithms)
    assert evaluation["is_selected"].sum() == 1
    choices = evaluation[evaluation["is_algorithm_choice"]]
    assert sorted(choices["algorithm"]) == sorted(FAST.algorithms)
    kmeans_ks = evaluation.loc[evaluation["algorithm"] == "kmeans", "parameter_value"].tolist()
    assert kmeans_ks == [float(k) for k in range(FAST.k_min, FAST.k_max + 1)]
    assert (evaluation["sample_size"] == FAST.sample_size).all()
    assert (evaluation["fitted_model"].notna() == evaluation["is_algorithm_choice"]).all()


def test_selection_follows_the_documented_rule(staged: Frames) -> None:
    evaluation, _ = staged
    eligible = evaluation[evaluation["is_eligible"]]
    assert (eligible["n_clusters"] >= 2).all()
    assert (eligible["stability"] >= FAST.min_stability).all()
    assert (eligible["smallest_cluster_share"] >= FAST.min_cluster_share).all()
    assert (eligible["noise_share"] <= FAST.max_noise_share).all()
    choices = evaluation[evaluation["is_algorithm_choice"] & evaluation["is_eligible"]]
    selected = evaluation[evaluation["is_selected"]].iloc[0]
    assert selected["is_eligible"]
    assert selected["silhouette"] == choices["silhouette"].max()
    gmm = evaluation[(evaluation["algorithm"] == "gmm") & evaluation["is_eligible"]]
    if not gmm.empty:
        assert gmm.loc[gmm["is_algorithm_choice"], "bic"].iloc[0] == gmm["bic"].min()


def test_metrics_are_on_the_same_labels_patients_receive(staged: Frames,
                                                         population: Frames) -> None:
    evaluation, segments = staged
    features = validate_patient_frame(population[0], ["subject_id"])
    sampled = features["subject_id"].to_numpy()[sample_rows(len(features), FAST)]
    on_sample = segments.set_index("subject_id").loc[sampled]
    for row in evaluation[evaluation["is_algorithm_choice"]].itertuples():
        counts = on_sample[f"{row.algorithm}_label"].value_counts()
        expected = {str(label): int(n) for label, n in counts.sort_index().items()}
        assert json.loads(row.cluster_sizes) == expected


def test_same_data_and_configuration_give_the_same_results(population: Frames, staged: Frames,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """In another row order, and fitted in two worker processes rather than in this one."""
    features, truth = population
    shuffled = features.sample(frac=1.0, random_state=9)
    assert FAST.sample_size < evaluation_module.MIN_SAMPLE_FOR_PROCESSES and FAST.processes == 1
    monkeypatch.setattr(evaluation_module, "MIN_SAMPLE_FOR_PROCESSES", 0)
    evaluation, segments = run_stage(shuffled, replace(FAST, processes=2), truth)
    first_evaluation, first_segments = staged
    pd.testing.assert_frame_equal(evaluation.drop(columns="fit_seconds"),
                                  first_evaluation.drop(columns="fit_seconds"))
    pd.testing.assert_frame_equal(segments, first_segments)


# --- patient_segments -----------------------------------------------------------------------------------

def test_every_patient_is_labelled_once_by_every_algorithm(staged: Frames,
                                                           population: Frames) -> None:
    _, segments = staged
    assert tuple(segments.columns) == SEGMENT_COLUMNS
    assert len(segments) == len(population[0]) > FAST.sample_size
    assert segments["subject_id"].is_unique
    assert set(segments["subject_id"]) == set(population[0]["subject_id"])
    assert segments[[f"{algorithm}_label" for algorithm in ALGORITHMS]].notna().all().all()
    selected = segments["selected_algorithm"].iloc[0]
    assert (segments["segment_id"] == segments[f"{selected}_label"]).all()


def test_segment_names_are_unique_and_follow_the_profiles(staged: Frames) -> None:
    _, segments = staged
    pairs = segments[["segment_id", "segment_name"]].drop_duplicates()
    assert pairs["segment_id"].is_unique and pairs["segment_name"].is_unique
    merged = segments.groupby("segment_name")["segment_id"].first()
    assert "ICU-intensive" in merged.index
    assert "Low utilization" in merged.index


def test_every_segment_name_is_true_of_its_members(staged: Frames, population: Frames) -> None:
    _, segments = staged
    statistics = segment_statistics(validate_patient_frame(population[0], ["subject_id"]),
                                     segments.sort_values("subject_id")["segment_id"].to_numpy(), 10_000)
    names = segments.drop_duplicates("segment_id").set_index("segment_id")["segment_name"]
    assert name_violations(statistics, names, RULES).empty


def test_a_name_its_members_contradict_is_reported() -> None:
    statistics = pd.DataFrame({
        "segment_id": [0, 0, 0, 0, 0],
        "feature": ["has_chronic_condition", "n_admissions", "n_icu_stays", "n_readmissions_30d",
                    "died_within_1y"],
        "segment_mean": [0.9, 1.2, 0.05, 0.0, 0.4],
        "standardized_mean_difference": [0.5, 0.1, -0.2, -0.3, 1.5],
    })
    violations = name_violations(statistics, pd.Series({0: "Chronic stable (higher age)"}), RULES)
    assert violations[["feature", "observed"]].to_numpy().tolist() == [["died_within_1y", 0.4]]
    assert base_name("Chronic stable 2") == base_name("Chronic stable (higher age)") == "Chronic stable"


def test_unassigned_algorithms_leave_their_label_column_null(population: Frames
                                                             ) -> None:
    config = replace(FAST, algorithms=("kmeans",))
    _, segments = run_stage(population[0], config)
    assert segments["kmeans_label"].notna().all()
    assert segments["dbscan_label"].isna().all()
    assert (segments["selected_algorithm"] == "kmeans").all()


def test_centroids_are_means_in_original_units(staged: Frames,
                                               population: Frames) -> None:
    features = population[0]
    _, segments = staged
    centroids = segment_centroids(features, segments, FAST)
    merged = features.merge(segments[["subject_id", "segment_id"]], on="subject_id")
    expected = merged.groupby("segment_id")["n_admissions"].mean()
    got = centroids[centroids["feature"] == "n_admissions"].set_index("segment_id")["segment_mean"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    sizes = centroids.drop_duplicates("segment_id").set_index("segment_id")["segment_size"]
    assert sizes.sum() == len(features)
    assert set(centroids.loc[centroids["is_clustering_feature"], "feature"]) == set(FAST.features)


def test_feature_importance_ranks_standardized_differences(staged: Frames,
                                                           population: Frames) -> None:
    features = population[0]
    _, segments = staged
    importance = segment_feature_importance(features, segments, FAST)
    icu = segments.loc[segments["segment_name"] == "ICU-intensive", "segment_id"].iloc[0]
    top = importance[(importance["segment_id"] == icu) & (importance["importance_rank"] <= 3)]
    assert {"total_icu_days", "n_icu_stays"} & set(top["feature"])
    ranked = importance[importance["segment_id"] == icu].sort_values("importance_rank")
    magnitudes = ranked["standardized_mean_difference"].abs().dropna().to_numpy()
    assert (np.diff(magnitudes) <= 1e-12).all()
    in_segment = segments["segment_id"] == icu
    days = features.set_index("subject_id").loc[segments["subject_id"], "total_icu_days"].to_numpy()
    a, b = days[in_segment.to_numpy()], days[~in_segment.to_numpy()]
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    row = ranked.set_index("feature").loc["total_icu_days"]
    assert row["standardized_mean_difference"] == pytest.approx((a.mean() - b.mean()) / pooled)
    assert row["direction"] == "higher"


# --- awkward populations --------------------------------------------------------------------------------

def test_fewer_patients_than_k(population: Frames) -> None:
    features = population[0].head(5)
    evaluation, segments = run_stage(features, FAST)
    kmeans = evaluation[evaluation["algorithm"] == "kmeans"]
    assert kmeans["parameter_value"].max() <= 4
    assert "not tried" in kmeans["note"].iloc[0]
    dbscan = evaluation[evaluation["algorithm"] == "dbscan"].iloc[0]
    assert "reduced to 4" in dbscan["note"]
    assert len(segments) == 5 and segments["segment_name"].notna().all()


def test_a_single_patient_forms_one_segment(population: Frames) -> None:
    features = population[0].head(1)
    evaluation, segments = run_stage(features, FAST)
    assert len(evaluation) == len(FAST.algorithms)
    assert evaluation["parameter_value"].isna().all()
    assert (evaluation["n_clusters"] == 1).all()
    assert evaluation["note"].str.contains("1 patient").all()
    assert evaluation["silhouette"].isna().all()
    assert segments[["kmeans_label", "dbscan_label"]].iloc[0].tolist() == [0, 0]
    # One patient is no population to cluster: the rule-based segment is the segment of record.
    assert segments["segmentation_method"].iloc[0] == "rule_based"
    assert segments["segment_name"].iloc[0] == stand_in_rule_segments(features)["segment_name"].iloc[0]


def test_no_patients_give_empty_segments_and_explained_rows(population: Frames
                                                            ) -> None:
    features = population[0].head(0)
    evaluation, segments = run_stage(features, FAST)
    assert sorted(evaluation["algorithm"]) == sorted(FAST.algorithms)
    assert evaluation["note"].str.contains("0 patient").all()
    assert segments.empty and tuple(segments.columns) == SEGMENT_COLUMNS


def test_a_constant_feature_adds_no_distance(population: Frames) -> None:
    features = population[0].assign(has_behavioral_health=False)
    matrix = build_feature_matrix(validate_patient_frame(features, ["has_behavioral_health"]), FAST.features,
                                  FAST.chunk_size)
    column = matrix.standardized[:, FAST.features.index("has_behavioral_health")]
    assert (column == 0).all()
    evaluation, segments = run_stage(features, FAST)
    assert evaluation["is_selected"].sum() == 1
    importance = segment_feature_importance(features, segments, FAST)
    constant = importance[importance["feature"] == "has_behavioral_health"]
    assert constant["standardized_mean_difference"].isna().all()
    assert constant["direction"].isna().all()


def test_dbscan_finding_only_noise(population: Frames,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # A radius smaller than any distance between distinct patients leaves DBSCAN without a core point.
    monkeypatch.setattr(algorithms, "knee_eps", lambda distances: 1e-12)
    features = population[0].drop_duplicates(subset=list(FAST.features)).head(400)
    config = replace(FAST, algorithms=("kmeans", "dbscan"), min_population=100)
    evaluation, segments = run_stage(features, config)
    dbscan = evaluation[evaluation["algorithm"] == "dbscan"].iloc[0]
    assert dbscan["n_clusters"] == 0 and dbscan["noise_share"] == 1.0
    assert pd.isna(dbscan["silhouette"]) and not dbscan["is_eligible"]
    assert (segments["dbscan_label"] == NOISE).all()
    assert (segments["selected_algorithm"] == "kmeans").all()

    # An all-noise DBSCAN is no segmentation: the rule-based segments stand in, and say so.
    _, only_dbscan = run_stage(features, replace(FAST, algorithms=("dbscan",), min_population=100))
    assert (only_dbscan["dbscan_label"] == NOISE).all()
    assert (only_dbscan["segmentation_method"] == "rule_based").all()
    assert set(only_dbscan["segment_name"]) <= {"Chronic conditions", "No hospital use"}


def test_knee_of_the_k_distance_curve() -> None:
    dense = np.linspace(0.1, 0.2, 90)
    sparse = np.linspace(2.0, 5.0, 10)
    assert 0.15 <= knee_eps(np.concatenate([sparse, dense])) <= 0.25
    assert knee_eps(np.zeros(10)) > 0


# --- input errors ---------------------------------------------------------------------------------------

def test_missing_column_is_named(population: Frames) -> None:
    with pytest.raises(FeatureError, match="lacks column.*n_icu_stays"):
        evaluate_candidates(population[0].drop(columns="n_icu_stays"), FAST)


def test_unexpected_null_names_column_and_patient(population: Frames) -> None:
    features = population[0].copy()
    features["n_admissions"] = features["n_admissions"].astype("Int64")
    features.loc[features.index[0], "n_admissions"] = pd.NA
    subject = features["subject_id"].iloc[0]
    with pytest.raises(FeatureError, match=rf"n_admissions is NULL for 1 patient.*{subject}"):
        evaluate_candidates(features, FAST)


def test_duplicate_subject_is_refused(population: Frames) -> None:
    features = pd.concat([population[0], population[0].head(1)])
    with pytest.raises(FeatureError, match="not unique"):
        evaluate_candidates(features, FAST)


def test_negative_count_is_refused(population: Frames) -> None:
    features = population[0].copy()
    features.loc[features.index[3], "n_ed_admissions"] = -2
    with pytest.raises(FeatureError, match="n_ed_admissions is negative"):
        evaluate_candidates(features, FAST)


def test_documented_null_fills(population: Frames) -> None:
    features = validate_patient_frame(population[0], ["subject_id"])
    matrix = build_feature_matrix(features, ["charlson_max", "days_since_last_admission"], FAST.chunk_size)
    raw = matrix.standardized * matrix.standardization.scales + matrix.standardization.means
    no_admission = features["n_admissions"].to_numpy() == 0
    assert (raw[no_admission, 0] == 0).all()
    longest_gap = np.log1p(features["days_since_last_admission"].max())
    assert np.allclose(raw[no_admission, 1], longest_gap)


def test_truth_from_another_generation_is_refused(population: Frames) -> None:
    features, truth = population
    with pytest.raises(FeatureError, match="no archetype for"):
        evaluate_candidates(features, FAST, truth.iloc[10:])


def test_evaluation_from_other_settings_is_refused(staged: Frames,
                                                   population: Frames) -> None:
    evaluation, _ = staged
    with pytest.raises(FeatureError, match="missing: kmeans"):
        segment_patients(population[0], evaluation[evaluation["algorithm"] != "kmeans"], RULES,
                         stand_in_rule_segments(population[0]), FAST)


def test_models_fitted_on_other_patients_or_features_are_refused(staged: Frames,
                                                                 population: Frames) -> None:
    evaluation, _ = staged
    rules = stand_in_rule_segments(population[0])
    with pytest.raises(FeatureError, match="fitted on other features or other patients"):
        segment_patients(population[0].iloc[1:], evaluation, RULES, rules, FAST)
    other_features = replace(FAST, features=FAST.features[:-1])
    with pytest.raises(FeatureError, match="fitted on other features or other patients"):
        segment_patients(population[0], evaluation, RULES, rules, other_features)
    without_models = evaluation.assign(fitted_model=None)
    with pytest.raises(FeatureError, match="no fitted_model"):
        segment_patients(population[0], without_models, RULES, rules, FAST)


# --- when no clustering qualifies -----------------------------------------------------------------------

def test_no_qualifying_candidate_falls_back_to_the_rule_based_segments(population: Frames) -> None:
    features = population[0]
    evaluation, segments = run_stage(features, replace(FAST, algorithms=("kmeans",), min_silhouette=0.99))
    assert not evaluation["is_selected"].any() and not evaluation["is_eligible"].any()
    assert set(evaluation["segmentation_method"]) == {"rule_based"}
    reason = evaluation["segmentation_reason"].iloc[0]
    assert reason.startswith("none of the 6 candidate clusterings qualified") and "silhouette below" in reason
    expected = stand_in_rule_segments(features).set_index("subject_id")["segment_name"]
    got = segments.set_index("subject_id")["segment_name"]
    assert (got == expected.reindex(got.index)).all()
    assert segments["selected_algorithm"].isna().all() and segments["kmeans_label"].notna().all()


def test_a_population_below_the_minimum_is_not_clustered(population: Frames) -> None:
    config = replace(FAST, algorithms=("kmeans",), min_population=5000)
    evaluation, segments = run_stage(population[0], config)
    assert evaluation["is_eligible"].any() and not evaluation["is_selected"].any()
    assert "population of 2000 patients is below clustering_min_population (5000)" in (
        evaluation["segmentation_reason"].iloc[0])
    assert (segments["segmentation_method"] == "rule_based").all()


def test_outcomes_are_refused_as_clustering_features() -> None:
    with pytest.raises(ConfigError, match="'died_within_1y' is an outcome"):
        ClusteringConfig.from_mapping({"features": ["n_admissions", "died_within_1y"]}, base=project_config())


# --- configuration --------------------------------------------------------------------------------------

def test_every_setting_is_a_dbt_var_and_mapped_into_the_models() -> None:
    """Declared once (dbt_project.yml), mapped by name into the models' config, read by name in Python."""
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())
    prefix = "clustering_"
    dbt_vars = {name.removeprefix(prefix) for name in project["vars"] if name.startswith(prefix)}
    models_yaml = REPO_ROOT / "models_py" / "segmentation" / "_segmentation__models.yml"
    models = yaml.safe_load(models_yaml.read_text())
    mapping = next(model["config"]["clustering"] for model in models["models"]
                   if model["name"] == "cluster_evaluation")
    assert set(ClusteringConfig.__dataclass_fields__) == dbt_vars == set(mapping)
    assert all(value == f"{{{{ var('clustering_{name}') }}}}" for name, value in mapping.items())


def test_a_setting_left_out_of_the_models_config_is_an_error() -> None:
    mapping = {name: getattr(project_config(), name) for name in ClusteringConfig.__dataclass_fields__}
    del mapping["min_silhouette"]
    with pytest.raises(ConfigError, match="lacks clustering_min_silhouette"):
        ClusteringConfig.from_mapping(mapping)


@pytest.mark.parametrize(("mapping", "message"), [
    ({"k_mxa": 5}, "unknown clustering setting.*clustering_k_mxa"),
    ({"k_min": "two"}, "clustering_k_min"),
    ({"k_min": 6, "k_max": 3}, "clustering_k_min"),
    ({"algorithms": ["kmeans", "spectral"]}, "'spectral' is not one of"),
    ({"features": ["n_admissions", "insurance"]}, "'insurance' is not a catalogue feature"),
    ({"sample_size": 2.5}, "clustering_sample_size"),
    ({"dbscan_min_samples": 10}, "expected a list"),
    ({"stability_fraction": 1.0}, "clustering_stability_fraction"),
    ({"processes": 0}, "clustering_processes"),
])
def test_bad_settings_name_the_var(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ClusteringConfig.from_mapping(mapping, base=project_config())


def test_catalogue_excludes_social_proxies() -> None:
    columns = {spec.column for spec in CATALOGUE}
    assert not columns & {"insurance", "language", "marital_status", "race"}


# --- naming ---------------------------------------------------------------------------------------------

def statistics_of(profiles: dict[int, dict[str, float]]) -> pd.DataFrame:
    """Segment statistics of a toy population: each segment id repeated `size` times with fixed values."""
    rows = [
        {"subject_id": 1000 * segment + i, **{spec.column: 0 for spec in CATALOGUE}, "gender": "F", **values}
        for segment, values in profiles.items() for i in range(int(values.pop("size", 10)))
    ]
    frame = pd.DataFrame(rows)
    noise = np.random.default_rng(0).normal(0, 0.01, len(frame))
    frame["age_at_last_admission"] = frame["age_at_last_admission"] + noise
    return segment_statistics(frame, (frame["subject_id"] // 1000).to_numpy(), chunk_size=7)


def test_two_segments_matching_the_same_rule_get_distinct_names() -> None:
    statistics = statistics_of({
        0: {"n_admissions": 0, "age_at_last_admission": 40, "size": 40},
        1: {"n_admissions": 6, "n_readmissions_30d": 3, "age_at_last_admission": 50},
        2: {"n_admissions": 8, "n_readmissions_30d": 5, "age_at_last_admission": 60},
    })
    names = name_segments(statistics, RULES, "Outliers")
    assert names.is_unique
    assert names[2] == "High-frequency utilizers"
    assert names[1].startswith("High-frequency utilizers (")


def test_noise_segment_keeps_the_configured_name() -> None:
    statistics = statistics_of({-1: {"n_admissions": 3}, 0: {"n_admissions": 1}, 1: {"n_admissions": 0}})
    names = name_segments(statistics, RULES, "Unclassified utilization pattern")
    assert names[-1] == "Unclassified utilization pattern"
    assert names.is_unique


@pytest.mark.parametrize(("change", "message"), [
    ({"feature": "shoe_size"}, "not a catalogue feature"),
    ({"operator": "=>"}, "needs operator"),
    ({"statistic": "median"}, "needs statistic"),
    ({"threshold": "high"}, "numeric threshold"),
])
def test_bad_naming_rule_is_named(change: dict[str, str], message: str) -> None:
    rules = RULES.astype({"threshold": "object"})
    for column, value in change.items():
        rules.loc[0, column] = value
    first = RULES.iloc[0]
    with pytest.raises(NamingRuleError, match=rf"rule '{first['segment_name']}' .*{message}"):
        name_segments(statistics_of({0: {"n_admissions": 0}, 1: {"n_admissions": 5}}), rules, "Outliers")


def test_rules_need_a_catch_all() -> None:
    rules = RULES[RULES["feature"].notna()]
    with pytest.raises(NamingRuleError, match="unconditional rule"):
        name_segments(statistics_of({0: {"n_admissions": 0}, 1: {"n_admissions": 5}}), rules, "Outliers")


def test_benchmark_entry_point_reports_the_stage() -> None:
    result = run_benchmark(1500, seed=5, config=FAST, naming_rules=RULES)
    assert result["patients"] == 1500 and result["sample_size"] == FAST.sample_size
    assert result["clustering_stage_seconds"] > 0 and result["clustering_stage_cpu_seconds"] > 0
    assert result["peak_rss_gib"] > 0
    assert result["segments"] >= 2 and result["ari_vs_truth"] >= 0.8
