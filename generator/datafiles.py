"""The generator's package data (generator/data/*.csv), read and checked once per run.

Every file is small and hand-maintained, so a mistake in one is reported with the file, line and column
instead of surfacing later as a wrong distribution.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DATA_PACKAGE = "generator"
DATA_FOLDER = "data"


class DataFileError(ValueError):
    """A package data file that cannot be used; the message names the file, line and column."""


@dataclass(frozen=True)
class ConditionSpec:
    """One chronic condition of the latent population model."""

    name: str
    family: str
    age_per_decade: float
    female_log_odds: float
    burden_loading: float
    prevalence: dict[str, float]


@dataclass(frozen=True)
class ConditionLink:
    """Extra log-odds of `condition` for patients who already have `given` (co-occurrence)."""

    condition: str
    given: str
    log_odds: float


@dataclass(frozen=True)
class CodeConcept:
    """One diagnosis with its code in each ICD version; `pool` is a chronic condition or an acute pool."""

    pool: str
    weight: float
    icd9_code: str
    icd10_code: str


@dataclass(frozen=True)
class PoolWeight:
    archetype: str
    role: str
    pool: str
    weight: float


@dataclass(frozen=True)
class PackageData:
    conditions: tuple[ConditionSpec, ...]
    links: tuple[ConditionLink, ...]
    condition_codes: tuple[CodeConcept, ...]
    acute_codes: tuple[CodeConcept, ...]
    pool_weights: tuple[PoolWeight, ...]
    icd9_titles: dict[str, str]


def data_path(name: str) -> Path:
    return Path(str(resources.files(DATA_PACKAGE) / DATA_FOLDER / name))


def read_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with a header that starts with `columns`, with their line numbers."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        if header[: len(columns)] != columns:
            raise DataFileError(
                f"{path.name}: header must start with {','.join(columns)}, found {','.join(header)}"
            )
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise DataFileError(f"{path.name}, line {reader.line_num}: expected {len(header)} fields")
            yield reader.line_num, row


def parse_number(path: Path, line: int, column: str, text: str, *, minimum: float | None = None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataFileError(f"{path.name}, line {line}, column {column}: '{text}' is not a number") from None
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        raise DataFileError(f"{path.name}, line {line}, column {column}: {text} is out of range")
    return value


def load_conditions(path: Path, archetypes: tuple[str, ...]) -> tuple[ConditionSpec, ...]:
    columns = ("condition", "family", "age_per_decade", "female_log_odds", "burden_loading", *archetypes)
    specs = []
    for line, row in read_rows(path, columns):
        prevalence = {}
        for archetype in archetypes:
            value = parse_number(path, line, archetype, row[archetype], minimum=0.0)
            if value >= 1.0:
                raise DataFileError(
                    f"{path.name}, line {line}, column {archetype}: prevalence must be below 1"
                )
            prevalence[archetype] = value
        specs.append(ConditionSpec(
            name=row["condition"],
            family=row["family"],
            age_per_decade=parse_number(path, line, "age_per_decade", row["age_per_decade"]),
            female_log_odds=parse_number(path, line, "female_log_odds", row["female_log_odds"]),
            burden_loading=parse_number(path, line, "burden_loading", row["burden_loading"]),
            prevalence=prevalence,
        ))
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise DataFileError(f"{path.name}: a condition is listed twice")
    return tuple(specs)


def load_links(path: Path, conditions: tuple[str, ...]) -> tuple[ConditionLink, ...]:
    """Links are applied while conditions are drawn in file order, so `given` must come first."""
    order = {name: index for index, name in enumerate(conditions)}
    links = []
    for line, row in read_rows(path, ("condition", "given", "log_odds")):
        for column in ("condition", "given"):
            if row[column] not in order:
                raise DataFileError(
                    f"{path.name}, line {line}, column {column}: unknown condition '{row[column]}'"
                )
        if order[row["given"]] >= order[row["condition"]]:
            raise DataFileError(
                f"{path.name}, line {line}: '{row['given']}' must come before '{row['condition']}' "
                "in conditions.csv"
            )
        links.append(ConditionLink(row["condition"], row["given"],
                                   parse_number(path, line, "log_odds", row["log_odds"])))
    return tuple(links)


def load_concepts(path: Path, pool_column: str, known_pools: set[str] | None) -> tuple[CodeConcept, ...]:
    concepts = []
    for line, row in read_rows(path, (pool_column, "weight", "icd9_code", "icd10_code")):
        if known_pools is not None and row[pool_column] not in known_pools:
            raise DataFileError(
                f"{path.name}, line {line}, column {pool_column}: unknown '{row[pool_column]}'"
            )
        for column in ("icd9_code", "icd10_code"):
            code = row[column]
            if not code or len(code) > 7 or not code.isalnum() or code != code.upper():
                raise DataFileError(
                    f"{path.name}, line {line}, column {column}: '{code}' is not an upper-case code "
                    "without dot"
                )
        weight = parse_number(path, line, "weight", row["weight"], minimum=0.0)
        if weight == 0.0:
            raise DataFileError(f"{path.name}, line {line}, column weight: must be positive")
        concepts.append(CodeConcept(row[pool_column], weight, row["icd9_code"], row["icd10_code"]))
    return tuple(concepts)


def load_pool_weights(path: Path, archetypes: tuple[str, ...], pools: set[str]) -> tuple[PoolWeight, ...]:
    weights = []
    for line, row in read_rows(path, ("archetype", "role", "pool", "weight")):
        if row["archetype"] not in archetypes:
            raise DataFileError(f"{path.name}, line {line}, column archetype: unknown '{row['archetype']}'")
        if row["role"] not in ("principal", "secondary"):
            raise DataFileError(f"{path.name}, line {line}, column role: must be principal or secondary")
        if row["pool"] not in pools:
            raise DataFileError(f"{path.name}, line {line}, column pool: no codes for pool '{row['pool']}'")
        weight = parse_number(path, line, "weight", row["weight"], minimum=0.0)
        weights.append(PoolWeight(row["archetype"], row["role"], row["pool"], weight))
    return tuple(weights)


def load_icd9_titles(path: Path) -> dict[str, str]:
    titles: dict[str, str] = {}
    for line, row in read_rows(path, ("icd_code", "long_title")):
        code, title = row["icd_code"], row["long_title"].strip()
        if code in titles:
            raise DataFileError(f"{path.name}, line {line}, column icd_code: '{code}' is listed twice")
        if not title or len(title) > 255:
            raise DataFileError(f"{path.name}, line {line}, column long_title: empty or longer than 255")
        titles[code] = title
    return titles


def check_concepts(concepts: tuple[CodeConcept, ...], icd9_titles: dict[str, str]) -> None:
    """Each code belongs to one concept per version (so an admission never bills a code twice), and each
    ICD-9 code has its title in icd9_codes.csv."""
    for attribute in ("icd9_code", "icd10_code"):
        seen: dict[str, str] = {}
        for concept in concepts:
            code = getattr(concept, attribute)
            if code in seen:
                raise DataFileError(f"{attribute} {code} is used by both '{seen[code]}' and '{concept.pool}'")
            seen[code] = concept.pool
    missing = sorted({concept.icd9_code for concept in concepts} - icd9_titles.keys())
    if missing:
        raise DataFileError(f"icd9_codes.csv lacks the title of ICD-9 code(s) {', '.join(missing)}")


def check_roles(pool_weights: tuple[PoolWeight, ...]) -> None:
    """A pool serves one role only, so an admission's principal code never reappears among its others."""
    roles: dict[str, str] = {}
    for weight in pool_weights:
        if roles.setdefault(weight.pool, weight.role) != weight.role:
            raise DataFileError(
                f"archetype_pools.csv: pool '{weight.pool}' is used both as principal and secondary"
            )


def load_package_data(archetypes: tuple[str, ...]) -> PackageData:
    conditions = load_conditions(data_path("conditions.csv"), archetypes)
    condition_names = tuple(spec.name for spec in conditions)
    links = load_links(data_path("condition_links.csv"), condition_names)
    condition_codes = load_concepts(data_path("condition_codes.csv"), "condition", set(condition_names))
    uncoded = sorted(set(condition_names) - {concept.pool for concept in condition_codes})
    if uncoded:
        raise DataFileError(f"condition_codes.csv has no code for condition(s) {', '.join(uncoded)}")
    acute_codes = load_concepts(data_path("acute_codes.csv"), "pool", None)
    clash = sorted({concept.pool for concept in acute_codes} & set(condition_names))
    if clash:
        raise DataFileError(f"acute_codes.csv reuses condition name(s) {', '.join(clash)} as pools")
    pool_weights = load_pool_weights(data_path("archetype_pools.csv"), archetypes,
                                     {concept.pool for concept in acute_codes})
    check_roles(pool_weights)
    icd9_titles = load_icd9_titles(data_path("icd9_codes.csv"))
    check_concepts(condition_codes + acute_codes, icd9_titles)
    return PackageData(conditions, links, condition_codes, acute_codes, pool_weights, icd9_titles)
