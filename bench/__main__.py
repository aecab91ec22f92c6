"""`make bench`: run the pipeline at each tier and write docs/benchmarks.md and docs/benchmarks.json.

Settings come from the environment (see bench/config.py), e.g.
    BENCH_TIERS=10000,365000,3650000 make bench
    BENCH_TIERS=300 BENCH_REPEATS=1 BENCH_OUT=/tmp/bench python -m bench
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.config import BenchConfigError, config_from_env
from bench.machine import describe_machine
from bench.pipeline import bench_tier
from bench.report import tier_checks, tier_rows, write_reports

REPO_ROOT = Path(__file__).resolve().parent.parent


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> int:
    try:
        config = config_from_env(os.environ, REPO_ROOT)
    except BenchConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    machine = describe_machine(REPO_ROOT)
    results = [bench_tier(tier, config, REPO_ROOT, progress) for tier in config.tiers]
    rows = [row for result in results for row in tier_rows(result.stages)]
    for path in write_reports(rows, [tier_checks(result) for result in results], machine, config):
        progress(f"wrote {path}")
    failures = [result for result in results if result.failure is not None]
    for result in failures:
        print(f"error: tier {result.tier:,}, stage {result.failure.stage} failed; the report lists the "
              f"stages before it and the error", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
