"""The benchmark harness (`make bench`): measurement, settings, targets, and one quick run on a tiny tier.

No timing is asserted against a goal here: the goals are reported by `make bench`, not tested. These tests
check that the harness measures what it says, and that its report agrees with the warehouse it built.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import REPO_ROOT, run_cli

from bench.config import DEFAULT_TIERS, BenchConfigError, config_from_env, parse_tiers
from bench.dbt_artifacts import read_run_results
from bench.floor import compare_with_features
from bench.markdown import main as markdown_main
from bench.markdown import render
from bench.measure import ProcessRun, StageError, Timing, combine_sequential, repeat_measurement, run_measured
from bench.pipeline import SPARK_STAGES, STAGE_LABELS, StageFailure, StageResult, TierResult
from bench.report import TARGETS, report_payload, tier_checks, tier_rows
from bench.warehouse import differing_rows

MIB = 2**20
QUICK_TIER = 300


# --- configuration -------------------------------------------------------------------------------------

def test_tiers_parse_in_order() -> None:
    assert parse_tiers("10000, 365_000,3650000") == (10_000, 365_000, 3_650_000)


@pytest.mark.parametrize("text", ["", "abc", "0", "-5", "100,100", "1.5"])
def test_bad_tiers_name_the_variable_and_value(text: str) -> None:
    with pytest.raises(BenchConfigError, match="BENCH_TIERS"):
        parse_tiers(text)


def test_defaults_and_overrides(tmp_path: Path) -> None:
    default = config_from_env({}, REPO_ROOT)
    assert default.tiers == DEFAULT_TIERS == (10_000, 365_000)
    assert default.out_dir == REPO_ROOT / "docs"
    assert default.work_dir == REPO_ROOT / "bench" / "out"
    env = {"BENCH_TIERS": "300", "BENCH_REPEATS": "1", "BENCH_OUT": str(tmp_path)}
    custom = config_from_env(env, REPO_ROOT)
    assert (custom.tiers, custom.repeats, custom.out_dir) == ((300,), 1, tmp_path)


def test_the_engine_setting_adds_spark_or_is_refused() -> None:
    assert config_from_env({}, REPO_ROOT).engine == "duckdb"
    assert config_from_env({"ENGINE": "spark"}, REPO_ROOT).engine == "spark"
    with pytest.raises(BenchConfigError, match="ENGINE: 'postgres' is not one of duckdb, spark"):
        config_from_env({"ENGINE": "postgres"}, REPO_ROOT)


@pytest.mark.parametrize("name", ["BENCH_REPEATS", "BENCH_FLOOR_REPEATS", "BENCH_SLOW_SECONDS"])
def test_bad_numbers_are_refused(name: str) -> None:
    with pytest.raises(BenchConfigError, match=name):
        config_from_env({name: "0"}, REPO_ROOT)


def test_bad_setting_stops_make_bench_with_one_line(tmp_path: Path) -> None:
    result = run_cli([sys.executable, "-m", "bench"], check=False,
                     env={"BENCH_TIERS": "ten", "BENCH_OUT": str(tmp_path), "BENCH_WORKDIR": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip() == "error: BENCH_TIERS: 'ten' is not a whole number of at least 1"
    assert not list(tmp_path.iterdir())


# --- measurement ---------------------------------------------------------------------------------------

def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_peak_memory_is_the_childs_own(tmp_path: Path) -> None:
    """Neither inflated by the (large) process that measures nor missing what the command allocates."""
    big = run_measured(_python("b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096])"),
                       env={}, cwd=tmp_path, log_path=tmp_path / "big.log")
    small = run_measured(_python("pass"), env={}, cwd=tmp_path, log_path=tmp_path / "small.log")
    assert big.peak_rss_bytes >= 300 * MIB
    assert small.peak_rss_bytes < 100 * MIB
    assert big.seconds > 0 and small.seconds > 0
    assert big.cpu_seconds > small.cpu_seconds > 0


def test_peak_memory_covers_grandchildren(tmp_path: Path) -> None:
    """The stage's process tree counts: a tool that starts a worker is charged for the worker's memory."""
    grandchild = "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096])"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}], check=True)"
    run = run_measured(_python(child), env={}, cwd=tmp_path, log_path=tmp_path / "tree.log")
    assert run.peak_rss_bytes >= 300 * MIB


def test_workers_side_by_side_add_up_in_the_tree(tmp_path: Path) -> None:
    """Two workers holding 200 MiB at the same time: the largest process has 200 MiB, the tree 400 MiB."""
    worker = "import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(1.5)"
    child = (f"import subprocess, sys; workers = [subprocess.Popen([sys.executable, '-c', {worker!r}]) "
             f"for _ in range(2)]; [w.wait() for w in workers]")
    run = run_measured(_python(child), env={}, cwd=tmp_path, log_path=tmp_path / "workers.log")
    assert 200 * MIB <= run.peak_rss_bytes < 300 * MIB
    assert run.peak_tree_bytes >= 400 * MIB


def test_failed_command_names_itself_and_its_output(tmp_path: Path) -> None:
    log = tmp_path / "fail.log"
    with pytest.raises(StageError) as error:
        run_measured(_python("import sys; print('no such table: patients'); sys.exit(3)"),
                     env={}, cwd=tmp_path, log_path=log)
    message = str(error.value)
    assert "exit code 3" in message and "no such table: patients" in message and str(log) in message


def test_slow_first_run_is_not_repeated() -> None:
    calls: list[float] = []

    def fake(seconds: float) -> ProcessRun:
        calls.append(seconds)
        return ProcessRun(seconds=seconds, peak_rss_bytes=1)

    assert len(repeat_measurement(lambda: fake(1.0), repeats=3, slow_seconds=60)) == 3
    assert len(repeat_measurement(lambda: fake(61.0), repeats=3, slow_seconds=60)) == 1
    assert len(calls) == 4


def test_sequential_commands_add_time_and_keep_the_larger_peak() -> None:
    combined = combine_sequential([ProcessRun(1.5, 10 * MIB, 1.0, 40 * MIB),
                                   ProcessRun(2.0, 30 * MIB, 3.0, 35 * MIB)])
    assert combined == ProcessRun(3.5, 30 * MIB, 4.0, 40 * MIB)


def test_run_results_give_warehouse_time_and_relations(tmp_path: Path) -> None:
    def node(unique_id: str, relation: str | None, start: str, end: str) -> dict:
        return {"unique_id": unique_id, "status": "success", "execution_time": 1.0, "relation_name": relation,
                "timing": [{"name": "compile", "started_at": f"2030-01-01T00:00:{start}Z",
                            "completed_at": f"2030-01-01T00:00:{start}Z"},
                           {"name": "execute", "started_at": f"2030-01-01T00:00:{start}Z",
                            "completed_at": f"2030-01-01T00:00:{end}Z"}]}

    results = {"elapsed_time": 9.0, "results": [
        node("seed.p.age_buckets", '"w"."reference"."age_buckets"', "01", "02"),
        node("model.p.patient_features", '"w"."marts"."patient_features"', "02", "05.5"),
        node("test.p.unique_patient_features_subject_id", None, "05.5", "06"),
    ]}
    (tmp_path / "run_results.json").write_text(json.dumps(results))
    invocation = read_run_results(tmp_path)
    assert invocation.warehouse_seconds() == pytest.approx(5.0)
    assert invocation.relations() == ["reference.age_buckets", "marts.patient_features"]
    assert invocation.seconds_by_node_type() == {"seed": 1.0, "model": 1.0, "test": 1.0}


def test_differing_rows_counts_both_directions_and_duplicates(tmp_path: Path) -> None:
    left, right = tmp_path / "left.duckdb", tmp_path / "right.duckdb"
    for db, values in ((left, "(1), (2), (2), (3)"), (right, "(1), (2), (4)")):
        with duckdb.connect(str(db)) as con:
            con.execute("create schema raw")
            con.execute(f"create table raw.t as select * from (values {values}) v(x)")
            con.execute("create table raw.same as select 1 as x")
    # left has an extra 2 and a 3, right has a 4.
    assert differing_rows(left, right, ["raw.t", "raw.same"]) == {"raw.t": 3, "raw.same": 0}


# --- targets and derived rows ----------------------------------------------------------------------------

def _stage(stage: str, seconds: float, rss_mib: float, details: dict | None = None,
           tier: int = 365_000) -> StageResult:
    return StageResult(tier=tier, stage=stage, timing=Timing((seconds, seconds * 1.1, seconds * 0.9)),
                       cpu=Timing((seconds * 1.5,)), peak_rss_bytes=int(rss_mib * MIB),
                       peak_tree_bytes=int(rss_mib * MIB), rows={"x.y": 10},
                       details=details or {})


def test_targets_judge_the_median_the_peak_and_the_floor_ratio() -> None:
    rows = tier_rows([
        _stage("generate", 12.0, 1000),
        _stage("dbt_parse", 8.0, 400),
        _stage("dbt_sql", 30.0, 3000, {"warehouse_seconds": [20.0]}),
        _stage("features", 15.0, 2000, {"warehouse_seconds": [6.0, 5.0]}),
        _stage("floor", 4.5, 1500),
        _stage("clustering", 20.0, 5000, {"warehouse_seconds": [18.0]}),
        _stage("marts_export", 3.0, 500, {"warehouse_seconds": [1.0]}),
        _stage("dbt_build", 50.0, 5000, {"warehouse_seconds": [45.0]}),
    ])
    by_stage = {row.stage: row for row in rows}
    assert by_stage["generate"].met is False  # 12 s against 10 s
    build = by_stage["dbt_build"]
    assert build.median_s == pytest.approx(50.0)
    assert build.met is False  # fast enough, but 5000 MiB is over 4 GiB
    within = tier_rows([_stage("dbt_build", 50.0, 4000)])
    assert [row.met for row in within] == [True]
    features = by_stage["features"]
    assert features.floor_ratio == pytest.approx(5.0 / (4.5 * 0.9))
    assert features.met is True
    assert by_stage["end_to_end"].median_s == pytest.approx(12 + 8 + 30 + 20 + 3)
    assert by_stage["end_to_end"].met is None  # its goal is set at 3.65M patients only


def test_a_failed_stage_is_reported_after_the_stages_before_it() -> None:
    result = TierResult(tier=365_000, stages=[_stage("generate", 5.0, 900)],
                        failure=StageFailure("load", "command failed with exit code 1: loader\nbad header"))
    checks = [tier_checks(result)]
    config = config_from_env({}, REPO_ROOT)
    payload = report_payload(tier_rows(result.stages), checks, {"date": "today"}, config)
    markdown = render(json.loads(json.dumps(payload, default=str)))
    assert checks[0]["failed_stage"] == "load" and checks[0]["loaded_equals_generated"] is None
    assert "| 365,000 | generate (synthetic raw tables) |" in markdown
    assert "| 365,000 | not run | not run | not run |" in markdown
    assert "stage `load`" in markdown and "bad header" in markdown


def test_markdown_is_rendered_again_from_the_json_alone(tmp_path: Path) -> None:
    payload = report_payload(tier_rows([_stage("generate", 5.0, 900)]), [], {"date": "today"},
                             config_from_env({}, REPO_ROOT))
    data = tmp_path / "benchmarks.json"
    data.write_text(json.dumps(payload, default=str))
    assert markdown_main([str(data)]) == 0
    assert "| 365,000 | generate (synthetic raw tables) | 5.00 |" in (tmp_path / "benchmarks.md").read_text()


def test_spark_builds_are_shown_beside_duckdbs() -> None:
    def markdown(stages: list[StageResult]) -> str:
        payload = report_payload(tier_rows(stages), [], {"date": "today"}, config_from_env({}, REPO_ROOT))
        return render(json.loads(json.dumps(payload)))

    stages = [_stage("dbt_build", 50.0, 4000),
              _stage("spark_build", 400.0, 3000, {"dbt_statuses": {"PASS": 7}})]
    assert "| 365,000 | 50.00 | 75.00 | 400.00 | 600.00 | 8.0× | 7 pass |" in markdown(stages)
    assert "Not measured in this run: `make bench ENGINE=spark`" in markdown(stages[:1])


def test_every_target_names_a_stage_the_report_has() -> None:
    known = set(STAGE_LABELS) | {"end_to_end"}
    assert {target.stage for target in TARGETS} <= known


# --- the floor against the dbt models, on the shared warehouses ------------------------------------------

@pytest.mark.dbt
@pytest.mark.parametrize("warehouse_fixture", ["mimic_fixture_warehouse", "synthetic_warehouse"])
def test_floor_equals_patient_features(warehouse_fixture: str, request: pytest.FixtureRequest,
                                       tmp_path: Path) -> None:
    """The hand-made MIMIC-IV fixture's edge cases and the synthetic population, row by row. The floor writes
    a table, so it runs on a copy of the shared warehouse."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(request.getfixturevalue(warehouse_fixture), db)
    run_cli([sys.executable, "-m", "bench.floor", "--db", str(db), "--result", str(tmp_path / "floor.json")])
    check = compare_with_features(db)
    assert check.equal, check
    assert check.rows_floor > 0


# --- one quick run of the whole harness ------------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    """`make bench` on a tiny tier, one run per stage."""
    out = tmp_path_factory.mktemp("bench_out")
    work = tmp_path_factory.mktemp("bench_work")
    run_cli([sys.executable, "-m", "bench"], env={
        "BENCH_TIERS": str(QUICK_TIER), "BENCH_REPEATS": "1", "BENCH_FLOOR_REPEATS": "2",
        "BENCH_OUT": str(out), "BENCH_WORKDIR": str(work), "ENGINE": "duckdb",
    })
    report = json.loads((out / "benchmarks.json").read_text(encoding="utf-8"))
    return report, (out / "benchmarks.md").read_text(encoding="utf-8"), work / f"tier_{QUICK_TIER}"


@pytest.mark.dbt
def test_quick_run_reports_every_stage(quick_bench: tuple[dict, str, Path]) -> None:
    report, markdown, _ = quick_bench
    rows = report["rows"]
    duckdb_stages = [stage for stage in STAGE_LABELS if stage not in SPARK_STAGES]
    assert [row["stage"] for row in rows] == [*duckdb_stages, "end_to_end"]
    for row in rows:
        assert row["tier"] == QUICK_TIER
        assert 0 < row["min_s"] <= row["median_s"] <= row["max_s"]
        assert row["runs"] >= 1 and row["peak_rss_mib"] > 0 and row["peak_tree_mib"] > 0
        # Parsing the project makes no rows; every other stage does.
        assert (row["rows"] > 0) != (row["stage"] == "dbt_parse")
        assert f"| {QUICK_TIER} | {row['label']} |" in markdown
    floor = next(row for row in rows if row["stage"] == "floor")
    assert floor["runs"] == 2
    parse = next(row for row in rows if row["stage"] == "dbt_parse")
    assert parse["runs"] == 1 and parse["details"]["manifest_nodes"] > 0
    machine = report["machine"]
    for key in ("cpu", "cores", "memory", "python", "duckdb", "dbt-core", "dbt-duckdb", "scikit-learn"):
        assert machine[key]
    assert machine["date"]


@pytest.mark.dbt
def test_quick_run_row_counts_match_the_warehouse(quick_bench: tuple[dict, str, Path]) -> None:
    report, _, tier_dir = quick_bench
    warehouse_of = {"load": tier_dir / "loaded.duckdb",
                    "dbt_build": tier_dir / "rebuilt" / "warehouse.duckdb"}
    for row in report["rows"]:
        if not row["rows_by_relation"]:
            continue
        db = warehouse_of.get(row["stage"], tier_dir / "warehouse.duckdb")
        with duckdb.connect(str(db), read_only=True) as con:
            for relation, rows in row["rows_by_relation"].items():
                schema, name = relation.split(".")
                stored = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
                assert stored == rows, relation
        assert row["rows"] == sum(row["rows_by_relation"].values())
    generated = next(row for row in report["rows"] if row["stage"] == "generate")["rows_by_relation"]
    assert generated["mimiciv_hosp.patients"] == QUICK_TIER


@pytest.mark.dbt
def test_quick_run_checks_hold(quick_bench: tuple[dict, str, Path]) -> None:
    """The loader reads back what the generator wrote, and the dbt stages build the whole project once."""
    report, markdown, _ = quick_bench
    (check,) = report["checks"]
    assert check["loaded_equals_generated"] is True
    assert check["dbt_nodes_not_built"] == [] and check["dbt_nodes_built_twice"] == []
    assert f"| {QUICK_TIER} | yes | yes | yes |" in markdown


@pytest.mark.dbt
def test_quick_run_floor_equals_patient_features(quick_bench: tuple[dict, str, Path]) -> None:
    report, markdown, _ = quick_bench
    floor = next(row for row in report["rows"] if row["stage"] == "floor")
    equality = floor["details"]["equality"]
    assert equality["equal"], equality
    assert equality["rows_floor"] == QUICK_TIER
    assert "yes, row by row" in markdown
