"""Patient segmentation by clustering: feature matrix, algorithms, evaluation, naming and profiles.

The dbt Python models in models_py/ are thin shells over `segmentation.pipeline`; `python -m
segmentation.bench` measures the same stage on synthetic feature frames.
"""
