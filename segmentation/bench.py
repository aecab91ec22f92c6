"""Benchmark of the clustering stage on synthetic patient_features frames.

    python -m segmentation.bench --patients 365000

Runs exactly what the dbt Python models run (evaluation, segments, centroids, feature importance) with the
default configuration, and prints one JSON object: seconds per stage, the stage total in wall-clock and CPU
seconds (frame generation excluded), the process's peak resident memory and the selected model's figures.
`run_benchmark` is the same as a function.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import pandas as pd

from segmentation.config import ClusteringConfig, project_config
from segmentation.pipeline import (
    evaluate_candidates,
    segment_centroids,
    segment_feature_importance,
    segment_patients,
)
from segmentation.synthetic import make_feature_frame, stand_in_rule_segments

RULES_FILE = "seeds/segment_naming_rules.csv"
T = TypeVar("T")


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timed(step: Callable[[], T]) -> tuple[T, float, float]:
    """Result, wall-clock seconds and CPU seconds (all threads of this process) of one step."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run_benchmark(n_patients: int, seed: int, config: ClusteringConfig,
                  naming_rules: pd.DataFrame) -> dict[str, float | int | str]:
    """Run the stage once. CPU seconds are reported next to wall-clock seconds because on a shared machine
    the wall clock also counts time spent waiting for a core."""
    features, truth = make_feature_frame(n_patients, seed)
    frame_rss = peak_rss_gib()
    evaluation, evaluation_wall, evaluation_cpu = timed(lambda: evaluate_candidates(features, config, truth))
    rule_segments = stand_in_rule_segments(features)
    segments, segments_wall, segments_cpu = timed(
        lambda: segment_patients(features, evaluation, naming_rules, rule_segments, config))
    _, profiles_wall, profiles_cpu = timed(lambda: (segment_centroids(features, segments, config),
                                                    segment_feature_importance(features, segments, config)))
    chosen = evaluation[evaluation["is_selected"]]
    if chosen.empty:
        raise RuntimeError(f"no clustering qualified on the benchmark population: "
                           f"{evaluation['segmentation_reason'].iloc[0]}")
    selected = chosen.iloc[0]
    return {
        "patients": n_patients,
        "sample_size": int(selected["sample_size"]),
        "evaluation_seconds": round(evaluation_wall, 2),
        "segments_seconds": round(segments_wall, 2),
        "profiles_seconds": round(profiles_wall, 2),
        "clustering_stage_seconds": round(evaluation_wall + segments_wall + profiles_wall, 2),
        "clustering_stage_cpu_seconds": round(evaluation_cpu + segments_cpu + profiles_cpu, 2),
        "peak_rss_gib_after_frame": round(frame_rss, 2),
        "peak_rss_gib": round(peak_rss_gib(), 2),
        "selected_algorithm": str(selected["algorithm"]),
        "selected_parameter": float(selected["parameter_value"]),
        "silhouette": round(float(selected["silhouette"]), 3),
        "davies_bouldin": round(float(selected["davies_bouldin"]), 3),
        "ari_vs_truth": round(float(selected["ari_vs_truth"]), 3),
        "segments": int(segments["segment_id"].nunique()),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m segmentation.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=365_000, help="synthetic patients (default 365000)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the synthetic frame (default 42)")
    parser.add_argument("--sample-size", type=int, default=None,
                        help="override clustering_sample_size (default: the configured default)")
    parser.add_argument("--rules", default=RULES_FILE, help=f"naming rules CSV (default {RULES_FILE})")
    args = parser.parse_args(argv)
    if args.patients < 1:
        parser.error("--patients must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    config = project_config()
    if args.sample_size is not None:
        config = replace(config, sample_size=args.sample_size)
        config.check()
    result = run_benchmark(args.patients, args.seed, config, pd.read_csv(args.rules))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
