"""What a benchmark run measures, read from the environment (the Makefile passes settings that way)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIERS = (10_000, 365_000)
DEFAULT_REPEATS = 3
DEFAULT_FLOOR_REPEATS = 5
DEFAULT_SEED = 42
# A stage measured at or above this many seconds is not repeated: one run of a slow stage is already a stable
# number, and repeating it would keep the shared machine busy for little gain.
DEFAULT_SLOW_SECONDS = 60.0
# ENGINE=spark (make bench ENGINE=spark) adds a whole build on local Spark beside DuckDB's at every tier.
ENGINES = ("duckdb", "spark")


class BenchConfigError(ValueError):
    """A BENCH_* setting that cannot be used; the message names the variable and the value."""


@dataclass(frozen=True)
class BenchConfig:
    tiers: tuple[int, ...]
    repeats: int
    floor_repeats: int
    seed: int
    slow_seconds: float
    out_dir: Path
    work_dir: Path
    engine: str = "duckdb"


def _whole_number(name: str, text: str, minimum: int = 1) -> int:
    cleaned = text.strip().replace("_", "")
    if not cleaned.isdigit() or int(cleaned) < minimum:
        raise BenchConfigError(f"{name}: {text!r} is not a whole number of at least {minimum}")
    return int(cleaned)


def _positive_float(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BenchConfigError(f"{name}: {text!r} is not a number") from None
    if value <= 0:
        raise BenchConfigError(f"{name}: {text!r} must be greater than 0")
    return value


def parse_tiers(text: str) -> tuple[int, ...]:
    """'10000,365000' -> (10000, 365000); order is kept, repeats are refused."""
    items = [item for item in text.split(",") if item.strip()]
    if not items:
        raise BenchConfigError(f"BENCH_TIERS: {text!r} names no tier (expected e.g. 10000,365000)")
    tiers = tuple(_whole_number("BENCH_TIERS", item) for item in items)
    if len(set(tiers)) != len(tiers):
        raise BenchConfigError(f"BENCH_TIERS: {text!r} names a tier twice")
    return tiers


def parse_engine(text: str) -> str:
    engine = text.strip() or ENGINES[0]
    if engine not in ENGINES:
        raise BenchConfigError(f"ENGINE: {text!r} is not one of {', '.join(ENGINES)}")
    return engine


def config_from_env(env: Mapping[str, str], repo_root: Path) -> BenchConfig:
    """Settings: BENCH_TIERS, BENCH_REPEATS, BENCH_FLOOR_REPEATS, BENCH_SEED, BENCH_SLOW_SECONDS,
    BENCH_OUT (where benchmarks.md/.json go, default docs/), BENCH_WORKDIR (warehouses and dbt
    artefacts, default bench/out/, which git ignores) and ENGINE (spark adds a Spark build per tier)."""
    tiers = parse_tiers(env["BENCH_TIERS"]) if "BENCH_TIERS" in env else DEFAULT_TIERS
    return BenchConfig(
        tiers=tiers,
        repeats=_whole_number("BENCH_REPEATS", env.get("BENCH_REPEATS", str(DEFAULT_REPEATS))),
        floor_repeats=_whole_number("BENCH_FLOOR_REPEATS", env.get("BENCH_FLOOR_REPEATS",
                                                                   str(DEFAULT_FLOOR_REPEATS))),
        seed=_whole_number("BENCH_SEED", env.get("BENCH_SEED", str(DEFAULT_SEED)), minimum=0),
        slow_seconds=_positive_float("BENCH_SLOW_SECONDS", env.get("BENCH_SLOW_SECONDS",
                                                                   str(DEFAULT_SLOW_SECONDS))),
        out_dir=Path(env.get("BENCH_OUT", str(repo_root / "docs"))).resolve(),
        work_dir=Path(env.get("BENCH_WORKDIR", str(repo_root / "bench" / "out"))).resolve(),
        engine=parse_engine(env.get("ENGINE", ENGINES[0])),
    )
