"""The aggregate marts of schema bi: small-cell suppression (including an attempt to recover suppressed counts
from the published figures), agreement with the patient-level marts, snapshots and segment transitions,
analyses and the dbt docs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import run_dbt
from scipy.linalg import null_space
from scipy.optimize import linprog

pytestmark = pytest.mark.dbt

MIN_CELL_SIZE = 11
ALL_SEGMENTS = "All segments"
ALL_TIERS = "All tiers"
UTILIZATION_COUNTS = (
    "n_patients", "n_admissions", "n_icu_admissions", "n_ed_admissions", "n_index_episodes",
    "n_readmissions_30d", "n_readmissions_60d", "n_readmissions_90d", "n_in_hospital_deaths",
    "n_died_within_1y",
)
# (part, total): what anyone can subtract from two published figures.
UTILIZATION_SUBSETS = (
    ("n_icu_admissions", "n_admissions"), ("n_ed_admissions", "n_admissions"),
    ("n_readmissions_30d", "n_readmissions_60d"), ("n_readmissions_60d", "n_readmissions_90d"),
    ("n_readmissions_90d", "n_index_episodes"), ("n_in_hospital_deaths", "n_admissions"),
    ("n_in_hospital_deaths", "n_died_within_1y"), ("n_died_within_1y", "n_patients"),
)
# rate column: (numerator, denominator)
UTILIZATION_RATES = {
    "icu_admission_rate": ("n_icu_admissions", "n_admissions"),
    "ed_admission_rate": ("n_ed_admissions", "n_admissions"),
    "readmission_rate_30d": ("n_readmissions_30d", "n_index_episodes"),
    "readmission_rate_60d": ("n_readmissions_60d", "n_index_episodes"),
    "readmission_rate_90d": ("n_readmissions_90d", "n_index_episodes"),
    "in_hospital_mortality_rate": ("n_in_hospital_deaths", "n_admissions"),
    "one_year_mortality_rate": ("n_died_within_1y", "n_patients"),
}
SEX_COUNTS = ("n_female", "n_male")
AGE_COUNTS = ("n_age_18_44", "n_age_45_64", "n_age_65_74", "n_age_75_84", "n_age_85_plus")
TIERS = ("low", "medium", "high", "complex")


def read(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).df()


def bi_columns(warehouse: Path) -> pd.DataFrame:
    return read(warehouse, """
        select table_name, column_name, data_type from duckdb_columns()
        where schema_name = 'bi' order by table_name, column_index
    """)


@pytest.fixture(params=["synthetic_warehouse", "mimic_fixture_warehouse"])
def warehouse(request: pytest.FixtureRequest) -> Path:
    return request.getfixturevalue(request.param)


# --- the small-cell rule ---------------------------------------------------------------------------------

def test_every_count_is_suppressed_zero_or_at_least_the_threshold(warehouse: Path) -> None:
    """A zero (an empty group) is shown; counts from 1 to the threshold - 1 never are."""
    columns = bi_columns(warehouse)
    counts = columns[columns["column_name"].str.startswith("n_")]
    assert len(counts) > 20
    for table, column in counts[["table_name", "column_name"]].itertuples(index=False):
        small = read(warehouse, f"select count(*) as n from bi.{table} "
                                f"where {column} between 1 and {MIN_CELL_SIZE - 1}")
        assert small["n"].iloc[0] == 0, f"bi.{table}.{column} shows a count below {MIN_CELL_SIZE}"


def test_counts_are_the_only_integer_figures(warehouse: Path) -> None:
    """A count cannot hide under another name: integer columns are the n_* counts, tier ranks and the
    threshold itself."""
    columns = bi_columns(warehouse)
    integers = columns[columns["data_type"].isin(["BIGINT", "INTEGER", "HUGEINT", "SMALLINT"])]
    others = set(integers.loc[~integers["column_name"].str.startswith("n_"), "column_name"])
    # A calendar year is no count.
    assert others <= {"risk_tier_rank", "min_cell_size", "data_end_real_year"}


def test_every_mart_with_counts_carries_the_small_cell_test(synthetic_warehouse: Path) -> None:
    manifest = json.loads((synthetic_warehouse.parent / "target" / "manifest.json").read_text())
    tested = {
        node["attached_node"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and node.get("test_metadata", {}).get("name") == "counts_null_or_at_least_min_cell_size"
    }
    bi_models = {
        unique_id: node for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["schema"] == "bi"
    }
    assert len(bi_models) >= 7
    with_counts = {unique_id for unique_id, node in bi_models.items()
                   if any(column.startswith("n_") for column in node["columns"])}
    assert len(with_counts) >= 7
    assert tested == with_counts


def test_the_small_cell_test_finds_a_count_in_any_column_of_a_mart(mimic_fixture_warehouse: Path,
                                                                   tmp_path: Path) -> None:
    """A count from 1 to 10 in the last count column of a mart, which no YAML names, fails the mart's test;
    its failing row names the column."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(mimic_fixture_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("update bi.condition_cohort_profiles set n_male = 3 "
                    "where rowid = (select min(rowid) from bi.condition_cohort_profiles)")
    workdir = tmp_path / "dbt"
    selection = "condition_cohort_profiles,test_name:counts_null_or_at_least_min_cell_size"
    result = run_dbt(["test", "--select", selection], copy, workdir, check=False)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "Got 1 result" in result.stdout
    # The one test run; dbt shortens its file name.
    (compiled,) = (workdir / "target" / "compiled").rglob("counts_null_or_at_least_min_*.sql")
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute(compiled.read_text()).fetchall() == [("n_male", 3)]


def test_a_duplicate_key_fails_the_marts_column_checks_and_names_the_key(mimic_fixture_warehouse: Path,
                                                                          tmp_path: Path) -> None:
    """The grain of a mart is a `unique` argument of its column_checks test: a key of one column
    (care_management_summary.risk_tier) or of several (segment_tier_matrix's segment and tier) that occurs
    twice fails the test, and the failing row names the key, the check, the repeated value and its rows."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(mimic_fixture_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        tier = con.execute("select min(risk_tier) from bi.care_management_summary").fetchone()[0]
        con.execute("insert into bi.care_management_summary "
                    "select * from bi.care_management_summary where risk_tier = ?", [tier])
        segment, matrix_tier = con.execute(
            "select segment_name, risk_tier from bi.segment_tier_matrix where row_type = 'segment_tier' "
            "order by all limit 1").fetchone()
        con.execute("insert into bi.segment_tier_matrix select * from bi.segment_tier_matrix "
                    "where segment_name = ? and risk_tier = ?", [segment, matrix_tier])
    workdir = tmp_path / "dbt"
    selection = "column_checks_care_management_summary column_checks_segment_tier_matrix"
    result = run_dbt(["test", "--select", *selection.split()], copy, workdir, check=False)
    assert result.returncode == 1, result.stdout[-3000:]
    assert result.stdout.count("Got 1 result") == 2, result.stdout[-3000:]
    compiled = {path.stem: path.read_text()
                for path in (workdir / "target" / "compiled").rglob("column_checks_*.sql")}
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute(compiled["column_checks_care_management_summary"]).fetchall() == [
            ("risk_tier", "unique", tier, 2)]
        assert con.execute(compiled["column_checks_segment_tier_matrix"]).fetchall() == [
            ("segment_name, risk_tier", "unique", f"{segment}, {matrix_tier}", 2)]


def test_no_patient_level_column_in_bi(warehouse: Path) -> None:
    columns = set(bi_columns(warehouse)["column_name"])
    assert not columns & {"subject_id", "hadm_id", "stay_id"}


def test_rates_are_null_when_a_count_behind_them_is_suppressed(warehouse: Path) -> None:
    for table in ("population_kpis", "condition_cohort_profiles"):
        rows = read(warehouse, f"select * from bi.{table}")
        for rate, (numerator, denominator) in UTILIZATION_RATES.items():
            hidden = rows[numerator].isna() | rows[denominator].isna()
            assert rows.loc[hidden, rate].isna().all(), f"bi.{table}.{rate} shown from a suppressed count"
        hidden_admissions = rows["n_admissions"].isna()
        assert rows.loc[hidden_admissions, "avg_los_days"].isna().all()
    profiles = read(warehouse, "select * from bi.segment_profiles")
    hidden_size = profiles["n_patients"].isna()
    for column in ("share_of_population", "share_female", "avg_age", "avg_risk_score", "avg_annual_cost_usd",
                   "total_annual_cost_usd", "top_conditions", "recommended_interventions"):
        assert profiles.loc[hidden_size, column].isna().all(), f"segment_profiles.{column} of hidden segment"


# --- recovering suppressed counts ------------------------------------------------------------------------

Key = tuple[str, ...]


@dataclass
class LinearSystem:
    """What a reader knows: published figures, and equations tying them to hidden ones."""

    known: dict[Key, float] = field(default_factory=dict)
    hidden: set[Key] = field(default_factory=set)
    equations: list[dict[Key, float]] = field(default_factory=list)
    # (numerator, denominator, published value, decimals it is rounded to)
    ratios: list[tuple[Key, Key, float, int]] = field(default_factory=list)

    def figure(self, key: Key, value: object) -> Key:
        if value is None or pd.isna(value):
            if key not in self.known:
                self.hidden.add(key)
        else:
            self.hidden.discard(key)
            previous = self.known.setdefault(key, float(value))
            assert previous == float(value), f"{key} published as {previous} and {value}"
        return key

    def total(self, total: Key, parts: Iterable[Key]) -> None:
        equation = {total: 1.0}
        for part in parts:
            equation[part] = equation.get(part, 0.0) - 1.0
        self.equations.append(equation)

    def difference(self, part: Key, whole: Key) -> None:
        """The unpublished count whole - part: derivable by anyone, so it must not be small either."""
        derived = self.figure(("difference", *part, "of", *whole), None)
        self.total(whole, [part, derived])

    def ratio(self, numerator: Key, denominator: Key, value: object, decimals: int = 4) -> None:
        """A published share or rate. The marts round them (macros/bi_precision.sql), so a ratio is no exact
        equation: beside two published counts it tells nothing new, and beside a hidden one it would narrow
        that down, which the marts never allow (hidden_ratio_terms)."""
        if value is not None and not pd.isna(value):
            self.ratios.append((numerator, denominator, float(value), decimals))


def hidden_ratio_terms(system: LinearSystem) -> list[tuple[Key, Key]]:
    """Published ratios whose numerator or denominator is hidden: each would be a clue to a hidden count."""
    return [(numerator, denominator) for numerator, denominator, _, _ in system.ratios
            if numerator in system.hidden or denominator in system.hidden]


def misrounded_ratios(system: LinearSystem) -> list[tuple[Key, Key, float]]:
    """Published ratios of two published counts that are not those counts' ratio rounded as documented."""
    wrong = []
    for numerator, denominator, value, decimals in system.ratios:
        if numerator in system.known and denominator in system.known and system.known[denominator]:
            exact = system.known[numerator] / system.known[denominator]
            if abs(exact - value) > 0.5 * 10.0 ** -decimals + 1e-9:
                wrong.append((numerator, denominator, value))
    return wrong


def determined_values(a_eq: np.ndarray, b_eq: np.ndarray) -> dict[int, float]:
    """Variables that the equations alone fix, whatever the sign of the others: those along which the null
    space of a_eq has no component, with their value."""
    solution = np.linalg.lstsq(a_eq, b_eq, rcond=None)[0]
    kernel = null_space(a_eq)
    return {i: float(solution[i]) for i in range(a_eq.shape[1])
            if kernel.shape[1] == 0 or np.abs(kernel[i]).max() < 1e-9}


def pinned_values(a_eq: np.ndarray, b_eq: np.ndarray) -> dict[int, float]:
    """Variables that take one value in every non-negative solution of a_eq x = b_eq, with that value.

    First the variables that can be positive, found by repeatedly maximising sum(min(x_i, 1)) over the
    ones not yet seen positive; the others are zero in every solution. With those set to zero, some solution
    has all remaining variables positive, so a remaining variable is fixed exactly when the equations alone
    fix it."""
    n = a_eq.shape[1]
    can_be_positive: set[int] = set()
    while True:
        candidates = [i for i in range(n) if i not in can_be_positive]
        if not candidates:
            break
        # variables x (n) then t (one per candidate): maximise sum(t), t_k <= x_k, 0 <= t_k <= 1
        objective = np.concatenate([np.zeros(n), -np.ones(len(candidates))])
        a_ub = np.zeros((len(candidates), n + len(candidates)))
        a_ub[np.arange(len(candidates)), candidates] = -1.0
        a_ub[np.arange(len(candidates)), n + np.arange(len(candidates))] = 1.0
        result = linprog(objective, A_ub=a_ub, b_ub=np.zeros(len(candidates)),
                         A_eq=np.hstack([a_eq, np.zeros((a_eq.shape[0], len(candidates)))]), b_eq=b_eq,
                         bounds=[(0, None)] * n + [(0, 1)] * len(candidates), method="highs")
        assert result.status == 0, f"the published figures are inconsistent: {result.message}"
        found = {i for k, i in enumerate(candidates) if result.x[n + k] > 1e-7}
        if not found:
            break
        can_be_positive |= found
    pinned = {i: 0.0 for i in range(n) if i not in can_be_positive}
    free = sorted(can_be_positive)
    if free:
        fixed = determined_values(a_eq[:, free], b_eq)
        pinned.update({free[position]: value for position, value in fixed.items()})
    return pinned


def recoverable_small_counts(system: LinearSystem) -> list[tuple[Key, float]]:
    """Hidden counts from 1 to the threshold - 1 that a reader can work out: those the equations (sums,
    differences, shares and rates of published figures, across marts) fix, with counts known to be
    non-negative. Zeros are not reported: a hidden zero only says a group is empty (docs/bi.md). Each
    connected group of equations is solved on its own."""
    hidden = sorted(system.hidden)
    index = {key: position for position, key in enumerate(hidden)}
    parent = list(range(len(hidden)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for equation in system.equations:
        members = [index[key] for key in equation if key in index]
        for member in members[1:]:
            parent[root(member)] = root(members[0])
    groups: dict[int, list[Key]] = {}
    for key, i in index.items():
        groups.setdefault(root(i), []).append(key)

    leaks = []
    for keys in groups.values():
        local = {key: position for position, key in enumerate(keys)}
        equations = [equation for equation in system.equations if any(key in local for key in equation)]
        if not equations:
            continue
        a_eq = np.zeros((len(equations), len(local)))
        b_eq = np.zeros(len(equations))
        for row, equation in enumerate(equations):
            for key, coefficient in equation.items():
                if key in local:
                    a_eq[row, local[key]] = coefficient
                else:
                    b_eq[row] -= coefficient * system.known[key]
        for position, value in pinned_values(a_eq, b_eq).items():
            if 0.5 <= value < MIN_CELL_SIZE - 0.5:
                leaks.append((keys[position], round(value, 3)))
    return sorted(leaks)


def matrix_key(segment: str, tier: str) -> Key:
    return ("patients", segment, tier)


def add_segment_tier_matrix(system: LinearSystem, warehouse: Path) -> None:
    matrix = read(warehouse, "select segment_name, risk_tier, n_patients, share_of_population, "
                             "share_of_segment, share_of_tier from bi.segment_tier_matrix")
    for row in matrix.itertuples(index=False):
        key = system.figure(matrix_key(row.segment_name, row.risk_tier), row.n_patients)
        system.ratio(key, matrix_key(ALL_SEGMENTS, ALL_TIERS), row.share_of_population)
        system.ratio(key, matrix_key(row.segment_name, ALL_TIERS), row.share_of_segment)
        system.ratio(key, matrix_key(ALL_SEGMENTS, row.risk_tier), row.share_of_tier)
    segments = sorted(set(matrix["segment_name"]) - {ALL_SEGMENTS})
    tiers = sorted(set(matrix["risk_tier"]) - {ALL_TIERS})
    for segment in [*segments, ALL_SEGMENTS]:
        system.total(matrix_key(segment, ALL_TIERS), [matrix_key(segment, tier) for tier in tiers])
    for tier in [*tiers, ALL_TIERS]:
        system.total(matrix_key(ALL_SEGMENTS, tier), [matrix_key(segment, tier) for segment in segments])


def add_utilization(system: LinearSystem, rows: pd.DataFrame, row_key: dict[object, Key],
                    size_key: dict[object, Key], partitions: dict[Key, list[object]]) -> None:
    """Counts and rates of population_kpis or condition_cohort_profiles; partitions maps each total row to
    the rows adding up to it."""
    def key(row_id: object, count: str) -> Key:
        return size_key[row_id] if count == "n_patients" else (*row_key[row_id], count)

    for row_id, row in rows.iterrows():
        for count in UTILIZATION_COUNTS:
            system.figure(key(row_id, count), row[count])
        for part, whole in UTILIZATION_SUBSETS:
            system.difference(key(row_id, part), key(row_id, whole))
        for rate, (numerator, denominator) in UTILIZATION_RATES.items():
            system.ratio(key(row_id, numerator), key(row_id, denominator), row[rate])
    for total_id, part_ids in partitions.items():
        for count in UTILIZATION_COUNTS:
            system.total(key(total_id, count), [key(part_id, count) for part_id in part_ids])


def add_population_kpis(system: LinearSystem, warehouse: Path) -> None:
    kpis = read(warehouse, "select * from bi.population_kpis")
    row_key = {i: ("kpi", row.dimension, row.dimension_value) for i, row in kpis.iterrows()}
    size_key = {
        i: matrix_key(ALL_SEGMENTS, ALL_TIERS) if row.dimension == "overall"
        else matrix_key(row.dimension_value, ALL_TIERS) if row.dimension == "segment"
        else matrix_key(ALL_SEGMENTS, row.dimension_value)
        for i, row in kpis.iterrows()
    }
    overall = kpis.index[kpis["dimension"] == "overall"][0]
    for dimension in ("segment", "risk_tier"):
        add_utilization(system, kpis, row_key, size_key,
                        {overall: list(kpis.index[kpis["dimension"] == dimension])})


def add_segment_profiles(system: LinearSystem, warehouse: Path) -> None:
    profiles = read(warehouse, "select * from bi.segment_profiles")
    for row in profiles.itertuples(index=False):
        segment = row.segment_name
        size = system.figure(matrix_key(segment, ALL_TIERS), row.n_patients)
        system.ratio(size, matrix_key(ALL_SEGMENTS, ALL_TIERS), row.share_of_population)
        sexes = [system.figure(("profile", segment, sex), getattr(row, sex)) for sex in SEX_COUNTS]
        system.total(size, sexes)
        system.ratio(sexes[0], size, row.share_female)
        ages = [system.figure(("profile", segment, name), getattr(row, name)) for name in AGE_COUNTS]
        system.total(size, ages)
        for tier in TIERS:
            tier_key = system.figure(matrix_key(segment, tier), getattr(row, f"n_tier_{tier}"))
            system.ratio(tier_key, size, getattr(row, f"share_tier_{tier}"))
        admissions = system.figure(("kpi", "segment", segment, "n_admissions"), row.n_admissions)
        system.ratio(admissions, size, row.admissions_per_patient, decimals=2)


def add_care_management_summary(system: LinearSystem, warehouse: Path) -> None:
    """Each tier's patients are its living plus its deceased (never published), and the living add up to an
    unpublished living total. build_info.n_patients is the matrix's population total."""
    summary = read(warehouse, "select * from bi.care_management_summary")
    living_total = system.figure(("living", ALL_TIERS), None)
    deceased_total = system.figure(("deceased", ALL_TIERS), None)
    living_sizes, deceased_sizes = [], []
    for row in summary.itertuples(index=False):
        size = system.figure(matrix_key(ALL_SEGMENTS, row.risk_tier), row.n_patients)
        system.ratio(size, matrix_key(ALL_SEGMENTS, ALL_TIERS), row.share_of_population)
        living = system.figure(("living", row.risk_tier), row.n_living)
        deceased = system.figure(("deceased", row.risk_tier), None)
        system.total(size, [living, deceased])
        living_sizes.append(living)
        deceased_sizes.append(deceased)
        system.figure(("kpi", "risk_tier", row.risk_tier, "n_admissions"), row.n_admissions)
    system.total(living_total, living_sizes)
    system.total(deceased_total, deceased_sizes)
    system.total(matrix_key(ALL_SEGMENTS, ALL_TIERS), [living_total, deceased_total])


def add_condition_cohorts(system: LinearSystem, warehouse: Path) -> None:
    cohorts = read(warehouse, "select * from bi.condition_cohort_profiles")
    row_key = {i: ("cohort", row.cohort, row.sub_segment) for i, row in cohorts.iterrows()}
    size_key = {i: (*key, "n_patients") for i, key in row_key.items()}
    partitions = {}
    for _, rows in cohorts.groupby("cohort"):
        total = rows.index[rows["sub_segment"] == "All"][0]
        partitions[total] = [i for i in rows.index if i != total]
    add_utilization(system, cohorts, row_key, size_key, partitions)
    for i, row in cohorts.iterrows():
        sexes = [system.figure((*row_key[i], name), row[name]) for name in SEX_COUNTS]
        system.total(size_key[i], sexes)
        system.ratio(sexes[0], size_key[i], row["share_female"])
    for total, parts in partitions.items():
        for i in parts:
            system.ratio(size_key[i], size_key[total], cohorts.loc[i, "share_of_cohort"])


def add_segment_transitions(system: LinearSystem, warehouse: Path,
                            previous_matrix: pd.DataFrame | None = None) -> None:
    """Rows add up to the previous build's sizes (not published by this build, but by the previous one: given
    its segment_tier_matrix, a reader of that export knows the sizes it showed), columns to the current."""
    transitions = read(warehouse, "select * from bi.segment_transitions")
    previous_sizes: dict[tuple[str, str], object] = {}
    if previous_matrix is not None:
        for row in previous_matrix.itertuples(index=False):
            if row.risk_tier == ALL_TIERS and row.segment_name != ALL_SEGMENTS:
                previous_sizes[("segment", row.segment_name)] = row.n_patients
            elif row.segment_name == ALL_SEGMENTS and row.risk_tier != ALL_TIERS:
                previous_sizes[("risk_tier", row.risk_tier)] = row.n_patients
    for dimension, rows in transitions.groupby("dimension"):
        cells = {(row.from_value, row.to_value): system.figure(("transition", dimension, row.from_value,
                                                               row.to_value), row.n_patients)
                 for row in rows.itertuples(index=False)}
        for from_value in set(rows["from_value"]):
            total = system.figure(("transition", dimension, from_value, "row total"),
                                  previous_sizes.get((str(dimension), from_value)))
            system.total(total, [key for (source, _), key in cells.items() if source == from_value])
        for to_value in set(rows["to_value"]):
            if to_value == "No longer present":
                total = system.figure(("transition", dimension, "column total", to_value), None)
            elif dimension == "segment":
                total = matrix_key(to_value, ALL_TIERS)
            else:
                total = matrix_key(ALL_SEGMENTS, to_value)
            system.total(total, [key for (_, target), key in cells.items() if target == to_value])


def add_risk_score_distribution(system: LinearSystem, warehouse: Path) -> None:
    """The score bins of each tier add up to the tier's size, which segment_tier_matrix publishes."""
    bins = read(warehouse, "select risk_tier, score_bin_lower, n_patients from bi.risk_score_distribution")
    for tier, rows in bins.groupby("risk_tier"):
        parts = [system.figure(("score bin", tier, row.score_bin_lower), row.n_patients)
                 for row in rows.itertuples(index=False)]
        system.total(matrix_key(ALL_SEGMENTS, tier), parts)


def published_system(warehouse: Path, previous_matrix: pd.DataFrame | None = None) -> LinearSystem:
    """Every equation of the published marts; previous_matrix: the previous build's segment_tier_matrix, for a
    reader who holds that export too."""
    system = LinearSystem()
    add_segment_tier_matrix(system, warehouse)
    add_population_kpis(system, warehouse)
    add_segment_profiles(system, warehouse)
    add_care_management_summary(system, warehouse)
    add_condition_cohorts(system, warehouse)
    add_segment_transitions(system, warehouse, previous_matrix)
    add_risk_score_distribution(system, warehouse)
    return system


def test_suppressed_counts_cannot_be_recovered_from_the_published_figures(warehouse: Path) -> None:
    system = published_system(warehouse)
    assert system.hidden, "nothing is suppressed: the check would prove nothing"
    assert any(key[0] == "score bin" for key in [*system.known, *system.hidden])
    assert hidden_ratio_terms(system) == []
    assert misrounded_ratios(system) == []
    assert recoverable_small_counts(system) == []


def test_the_recovery_check_finds_a_count_shown_by_difference() -> None:
    """The attack itself: a total, one shown part and one hidden part give the hidden part away, unless a
    second part is hidden too; non-negativity can pin a hidden count as well."""
    def system_of(figures: dict[str, float | None], totals: dict[str, list[str]]) -> LinearSystem:
        system = LinearSystem()
        for name, value in figures.items():
            system.figure((name,), value)
        for total, parts in totals.items():
            system.total((total,), [(part,) for part in parts])
        return system

    single = system_of({"total": 30, "a": 25, "b": None}, {"total": ["a", "b"]})
    assert recoverable_small_counts(single) == [(("b",), 5.0)]

    pair = system_of({"total": 60, "a": 25, "b": None, "c": None}, {"total": ["a", "b", "c"]})
    assert recoverable_small_counts(pair) == []

    # x = 5 + v and x + y = 5: only non-negative v and y leave x = 5 (and v = y = 0, empty groups).
    bounded = system_of({"x": None, "u": 5, "v": None, "s": 5, "y": None}, {"x": ["u", "v"], "s": ["x", "y"]})
    assert recoverable_small_counts(bounded) == [(("x",), 5.0)]

    # an empty group worked out as such is not a small count
    empty = system_of({"total": 25, "a": 25, "b": None}, {"total": ["a", "b"]})
    assert recoverable_small_counts(empty) == []


def test_the_recovery_check_catches_a_missing_complementary_suppression(mimic_fixture_warehouse: Path,
                                                                         tmp_path: Path) -> None:
    """On the real marts: once the rest of a segment's tier mix and its size are shown, a small hidden cell of
    that segment is given away, and the check says so."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(mimic_fixture_warehouse, copy)
    truth = read(copy, """
        select matrix.segment_name, matrix.risk_tier, count(patients.subject_id) as n
        from bi.segment_tier_matrix as matrix
        left join marts.patient_summary as patients
            on matrix.segment_name = patients.segment_name and matrix.risk_tier = patients.risk_tier
        where matrix.row_type = 'segment_tier'
        group by all
    """)
    hidden = read(copy, "select segment_name, risk_tier from bi.segment_tier_matrix "
                        "where row_type = 'segment_tier' and n_patients is null").merge(truth)
    small = hidden[(hidden["n"] > 0) & (hidden["n"] < MIN_CELL_SIZE)].iloc[0]
    segment = truth[truth["segment_name"] == small["segment_name"]]
    with duckdb.connect(str(copy)) as connection:
        for row in segment[segment["risk_tier"] != small["risk_tier"]].itertuples(index=False):
            connection.execute("update bi.segment_tier_matrix set n_patients = ? "
                               "where segment_name = ? and risk_tier = ?",
                               [row.n, row.segment_name, row.risk_tier])
        connection.execute("update bi.segment_tier_matrix set n_patients = ? "
                           "where segment_name = ? and row_type = 'segment_total'",
                           [int(segment["n"].sum()), small["segment_name"]])
    leaks = recoverable_small_counts(published_system(copy))
    assert (matrix_key(small["segment_name"], small["risk_tier"]), float(small["n"])) in leaks


# --- agreement with the patient-level marts --------------------------------------------------------------

def test_published_counts_match_the_patients(synthetic_warehouse: Path) -> None:
    truth = read(synthetic_warehouse, """
        select segment_name, risk_tier, count(*) as n from marts.patient_summary
        group by grouping sets ((segment_name, risk_tier), (segment_name), (risk_tier), ())
    """).fillna({"segment_name": ALL_SEGMENTS, "risk_tier": ALL_TIERS})
    matrix = read(synthetic_warehouse,
                  "select segment_name, risk_tier, row_type, n_patients from bi.segment_tier_matrix")
    # A pair without patients has no group in the truth: its count is 0.
    merged = matrix.merge(truth, on=["segment_name", "risk_tier"], how="left").fillna({"n": 0})
    shown = merged[merged["n_patients"].notna()]
    assert (shown["row_type"] == "segment_tier").any() and (shown["row_type"] == "population_total").any()
    assert (shown["n_patients"] == shown["n"]).all()

    kpis = read(synthetic_warehouse, "select * from bi.population_kpis where dimension = 'overall'").iloc[0]
    population = read(synthetic_warehouse, """
        select count(*) as n_patients, sum(n_admissions) as n_admissions, sum(n_index_episodes) as n_index,
               sum(n_readmissions_30d) as n_readmissions_30d, sum(total_los_days) as los
        from marts.patient_summary
    """).iloc[0]
    assert kpis["n_patients"] == population["n_patients"]
    assert kpis["n_admissions"] == population["n_admissions"]
    # Rounded as documented (macros/bi_precision.sql): means to 2 decimals, rates to 4.
    assert kpis["avg_los_days"] == pytest.approx(population["los"] / population["n_admissions"], abs=0.005)
    readmission_rate = population["n_readmissions_30d"] / population["n_index"]
    assert kpis["readmission_rate_30d"] == pytest.approx(readmission_rate, abs=0.00005)


def test_segment_and_tier_sizes_agree_across_marts(warehouse: Path) -> None:
    def sizes(table: str, name: str, where: str) -> dict[str, int | None]:
        rows = read(warehouse, f"select {name}, n_patients from bi.{table} where {where}")
        return {key: None if pd.isna(n) else int(n) for key, n in rows.itertuples(index=False)}

    segments = sizes("segment_tier_matrix", "segment_name", "row_type = 'segment_total'")
    tiers = sizes("segment_tier_matrix", "risk_tier", "row_type = 'tier_total'")
    assert sizes("segment_profiles", "segment_name", "true") == segments
    assert sizes("care_management_summary", "risk_tier", "true") == tiers
    living = read(warehouse, "select risk_tier, count(*) as n from marts.patient_summary "
                  "where vital_status = 'living' group by all").set_index("risk_tier").n
    shown = read(warehouse, "select risk_tier, n_living from bi.care_management_summary").dropna()
    for row in shown.itertuples(index=False):
        assert row.n_living == living[row.risk_tier], row
    assert sizes("population_kpis", "dimension_value", "dimension = 'segment'") == segments
    assert sizes("population_kpis", "dimension_value", "dimension = 'risk_tier'") == tiers
    assert set(tiers) == set(TIERS)


def test_costs_follow_the_unit_costs(synthetic_warehouse: Path) -> None:
    costs = read(synthetic_warehouse, "select * from marts.patient_costs")
    units = read(synthetic_warehouse, "select * from reference.unit_costs").set_index("cost_item")
    assert units["source"].str.len().gt(40).all()
    admission = units.loc["admission"]
    expected_icu = costs["icu_days"] * units.loc["icu_day", "unit_cost_usd"]
    expected_ed = costs["n_ed_admissions"] * units.loc["ed_visit", "unit_cost_usd"]
    assert np.allclose(costs["icu_cost_usd"], expected_icu)
    assert np.allclose(costs["ed_cost_usd"], expected_ed)
    assert (costs["stay_cost_usd"] >= costs["n_admissions"] * admission["unit_cost_usd"] - 1e-6).all()
    total = costs["stay_cost_usd"] + costs["icu_cost_usd"] + costs["ed_cost_usd"]
    assert np.allclose(costs["total_cost_usd"], total)
    admitted = costs[costs["n_admissions"] > 0]
    assert np.allclose(admitted["annual_cost_usd"],
                       admitted["total_cost_usd"] / admitted["observed_years"].clip(lower=1.0))
    assert (costs.loc[costs["n_admissions"] == 0, "annual_cost_usd"] == 0).all()


def test_cohort_members_have_their_conditions(synthetic_warehouse: Path) -> None:
    cohorts = read(synthetic_warehouse, "select * from bi.condition_cohort_profiles")
    assert set(cohorts["cohort"]) == {"diabetes", "cardiovascular", "mental_health"}
    assert (cohorts.groupby("cohort").size() == 5).all()
    truth = read(synthetic_warehouse, """
        select count(distinct subject_id) as n from marts.patient_conditions where condition = 'diabetes'
    """)["n"].iloc[0]
    diabetes = cohorts[(cohorts["cohort"] == "diabetes") & (cohorts["sub_segment"] == "All")].iloc[0]
    assert diabetes["n_patients"] == truth


# --- snapshots and transitions ---------------------------------------------------------------------------

def test_transitions_between_the_last_two_builds(synthetic_warehouse: Path, tmp_path: Path) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(synthetic_warehouse, copy)
    first = read(copy, "select * from bi.segment_transitions where dimension = 'segment'")
    assert (first["from_value"] == "New patient").all() and first["previous_build_id"].isna().all()

    segments = sorted(read(copy, "select distinct segment_name from marts.patient_summary").segment_name)
    before = read(copy, "select subject_id, segment_name, risk_tier from marts.patient_summary")
    # A new clustering: every other patient moves on to the next segment, and a few leave the population.
    rotation = {name: segments[(i + 1) % len(segments)] for i, name in enumerate(segments)}
    with duckdb.connect(str(copy)) as connection:
        connection.execute("create temp table rotation (from_name varchar, to_name varchar)")
        connection.executemany("insert into rotation values (?, ?)", list(rotation.items()))
        connection.execute("""
            update marts.patient_summary set segment_name = rotation.to_name
            from rotation where marts.patient_summary.segment_name = rotation.from_name
                and subject_id % 2 = 0
        """)
        connection.execute("delete from marts.patient_summary where subject_id % 50 = 1")
    after = read(copy, "select subject_id, segment_name from marts.patient_summary")
    # The marts are rebuilt from the new population along with the snapshots, as a build would.
    run_dbt(["build", "--select", "patient_segment_history+", "segment_tier_matrix+"], copy, tmp_path / "dbt")

    transitions = read(copy, "select * from bi.segment_transitions where dimension = 'segment'")
    assert transitions["previous_build_id"].notna().all()
    assert transitions["previous_build_id"].iloc[0] != transitions["current_build_id"].iloc[0]
    moves = before.merge(after, on="subject_id", how="left", suffixes=("_from", "_to"))
    moves["segment_name_to"] = moves["segment_name_to"].fillna("No longer present")
    truth = moves.groupby(["segment_name_from", "segment_name_to"]).size()
    shown = transitions.dropna(subset=["n_patients"])
    assert len(shown) >= len(segments)
    for row in shown.itertuples(index=False):
        assert row.n_patients == truth.get((row.from_value, row.to_value), 0)
    history = read(copy, "select count(*) as versions, count(dbt_valid_to) as closed "
                         "from snapshots.patient_segment_history").iloc[0]
    assert history["closed"] == (moves["segment_name_from"] != moves["segment_name_to"]).sum()

    assert recoverable_small_counts(published_system(copy)) == []


# --- analyses and docs -----------------------------------------------------------------------------------

def test_docs_generate_and_analyses_run(synthetic_warehouse: Path, tmp_path: Path) -> None:
    # On a copy: dbt opens its warehouse for writing, and the shared one is read by other tests meanwhile.
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(synthetic_warehouse, copy)
    workdir = tmp_path / "dbt"
    run_dbt(["docs", "generate"], copy, workdir)
    catalog = json.loads((workdir / "target" / "catalog.json").read_text())
    manifest = json.loads((workdir / "target" / "manifest.json").read_text())
    profiles = catalog["nodes"]["model.patient_segmentation.segment_profiles"]
    assert profiles["metadata"]["comment"]
    assert {exposure["name"] for exposure in manifest["exposures"].values()} >= {
        "segment_overview_dashboard", "care_management_planning_dashboard", "population_kpi_dashboard",
    }
    analyses = sorted((workdir / "target" / "compiled").rglob("analyses/*.sql"))
    assert len(analyses) >= 4
    for path in analyses:
        result = read(copy, path.read_text())
        assert len(result.columns) >= 3, path.name
        assert len(result) > 0, f"{path.name} returned no rows"
