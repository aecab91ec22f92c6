"""A Spark session with the settings of profiles.yml's `spark` target, so that the steps outside dbt see the
same warehouse folder and Derby metastore as dbt does (one JVM at a time: Derby's embedded metastore allows
only one)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILES = REPO_ROOT / "profiles.yml"
PROFILE = "patient_segmentation"


def target_settings(target: str = "spark", profiles: Path = PROFILES) -> dict[str, Any]:
    """The target's entry of profiles.yml, with env_var() rendered the way dbt renders it."""

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise KeyError(f"environment variable {name} is not set (profiles.yml, target {target})")
        return default

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def render(value: Any) -> Any:
        if isinstance(value, str):
            return environment.from_string(value).render(env_var=env_var)
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        if isinstance(value, list):
            return [render(item) for item in value]
        return value

    outputs = yaml.safe_load(profiles.read_text())[PROFILE]["outputs"]
    if target not in outputs:
        raise KeyError(f"profiles.yml has no target {target}")
    return render(outputs[target])


def spark_session(target: str = "spark") -> Any:
    """The SparkSession of the target (method session only), created as dbt-spark creates it."""
    from pyspark.sql import SparkSession

    settings = target_settings(target)
    if settings.get("method") != "session":
        raise ValueError(f"target {target} uses method {settings.get('method')}: "
                         "only a session can be opened here")
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in settings.get("server_side_parameters", {}).items():
        builder = builder.config(str(key), str(value))
    # dbt-spark switches ANSI mode off for every session; the steps outside dbt must compute the same way.
    builder = builder.config("spark.sql.ansi.enabled", "false")
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
