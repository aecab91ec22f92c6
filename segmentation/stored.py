"""Fitted models as `cluster_evaluation.fitted_model` stores them, so that `patient_segments` labels every
patient with the very models that were scored instead of fitting them a second time.

One JSON object per chosen candidate: the numbers of its labelling rule (`state` in
segmentation/algorithms.py: centroids, the Gaussian mixture's weights, means and precision Cholesky factors,
or the sample positions of the dense reference points with their labels and radii), the map to canonical label
ids, the features in order and a fingerprint of the standardized sample it was fitted on. JSON writes every
digit of a float, so the rebuilt rule labels each patient exactly as the fitted one. A model applies only to
the same features and sample: when patient_features or the clustering vars changed since, cluster_evaluation
has to be rebuilt first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np

from segmentation.algorithms import Assignment, Clustering, labeller_from_state
from segmentation.features import FeatureError

EVALUATION_SOURCE = "cluster_evaluation"


def sample_fingerprint(n_patients: int, sampled_subject_ids: np.ndarray, sample_values: np.ndarray) -> str:
    """Digest of what a model depends on: the population size (it sets the standardization with the values),
    the sampled patients and their standardized features."""
    digest = hashlib.sha256(f"{n_patients};{len(sampled_subject_ids)};".encode())
    digest.update(",".join(str(subject_id) for subject_id in sampled_subject_ids.tolist()).encode())
    digest.update(np.ascontiguousarray(sample_values, dtype=np.float64).tobytes())
    return digest.hexdigest()


def dump_model(clustering: Clustering, features: Sequence[str], fingerprint: str) -> str:
    return json.dumps({
        "features": list(features),
        "sample": fingerprint,
        "canonical": clustering.canonical.tolist(),
        **clustering.labeller.state(),
    })


def load_model(text: object, algorithm: str, features: Sequence[str], fingerprint: str,
               sample_values: np.ndarray) -> Assignment:
    """The stored model of `algorithm`, checked against the current features and sample."""
    if not isinstance(text, str) or not text:
        raise FeatureError(f"{EVALUATION_SOURCE} holds no fitted_model for {algorithm}'s chosen row: rebuild "
                           f"{EVALUATION_SOURCE} first")
    model = json.loads(text)
    if model.get("features") != list(features) or model.get("sample") != fingerprint:
        raise FeatureError(
            f"{EVALUATION_SOURCE}.fitted_model of {algorithm} was fitted on other features or other patients "
            f"than the current marts.patient_features and clustering vars: rebuild {EVALUATION_SOURCE} first"
        )
    canonical = np.asarray(model["canonical"], dtype=np.int64)
    return Assignment(labeller_from_state(model, sample_values), canonical)
