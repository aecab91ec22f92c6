"""dbt on a local Spark session with the project's SQL functions: `python -m spark_engine.run_dbt ARGS`, in
place of `dbt ARGS --target spark`.

dbt-spark's `session` method opens the Spark session inside dbt's process (SparkSession.getOrCreate), where no
Python function can be registered from SQL. This runs dbt in-process after opening that session with the
target's settings and registering the functions of spark_engine.udfs on it, so that dbt's getOrCreate finds it
ready. A cluster target (spark_thrift, databricks) needs the functions registered on the cluster instead
(docs/spark.md).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from spark_engine.session import spark_session
from spark_engine.udfs import register

DEFAULT_TARGET = "spark"


def with_target(args: Sequence[str]) -> tuple[list[str], str]:
    """The arguments with a --target (spark unless given), and that target."""
    args = list(args)
    for flag in ("--target", "-t"):
        if flag in args[:-1]:
            return args, args[args.index(flag) + 1]
    return [*args, "--target", DEFAULT_TARGET], DEFAULT_TARGET


def main(argv: Sequence[str] | None = None) -> int:
    args, target = with_target(sys.argv[1:] if argv is None else argv)
    # The functions run in Python workers, which must be this interpreter (it has the project installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    register(spark_session(target))
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(args)
    return 0 if result.success else (2 if result.exception else 1)


if __name__ == "__main__":
    sys.exit(main())
