"""The population report, the run steps, the SQL shell and the documented commands, tested as users meet them:
the report in a real browser (headless Chromium), the commands of README and docs as written."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from report import formatting as fmt
from report.locks import lock_message
from report.page import render
from report.run import NODE_LINE, BuildResult, build_progress
from report.sections import Section, all_sections
from report.settings import SettingsError, dbt_flags
from report.shell import interactive
from report.source import Export, read_export
from report.summary import summary_text
from tests.conftest import REPO_ROOT, run_cli

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = REPO_ROOT / "artifacts"
SCREENSHOT = ARTIFACTS / "population_report.png"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Every Plotly figure drawn: its root SVG exists and Plotly has laid it out.
RENDERED_CHARTS_JS = """
return [...document.querySelectorAll('.chart .js-plotly-plot')]
    .filter(el => el._fullLayout && el.querySelector('svg.main-svg')).length;
"""
# The traces of one chart: name, mode, meta and the data a reader can hover.
CHART_TRACES_JS = """
return document.getElementById(arguments[0]).data.map(
    t => ({name: t.name, mode: t.mode, meta: t.meta, x: t.x, y: t.y, text: t.text}));
"""
# Every value of the traces the report tagged as counts (x, y, z, customdata, flattened).
COUNT_VALUES_JS = """
const values = [];
const walk = v => Array.isArray(v) ? v.forEach(walk) : (typeof v === 'number' && values.push(v));
for (const el of document.querySelectorAll('.js-plotly-plot'))
  for (const trace of el.data)
    if (trace.meta && trace.meta.counts)
      ['x', 'y', 'z', 'customdata'].forEach(key => walk(trace[key]));
return values;
"""


@pytest.fixture(scope="module")
def export(synthetic_export: Path) -> Export:
    return read_export(synthetic_export)


@pytest.fixture(scope="module")
def browser(population_report: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium from Debian's packages with a fresh profile, the report loaded."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(population_report.as_uri())
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def published_counts(export: Export) -> set[int]:
    """Every count the export publishes (columns n_*), the only counts the report may show."""
    return {
        int(value)
        for frame in export.tables.values()
        for column in frame.columns
        if column.startswith("n_")
        for value in frame[column].dropna()
    }


def test_every_chart_renders_without_console_errors(
    browser: webdriver.Chrome, population_report: Path
) -> None:
    expected = population_report.read_text().count('<div class="chart">')
    assert expected >= 8
    WebDriverWait(browser, 30).until(lambda driver: driver.execute_script(RENDERED_CHARTS_JS) == expected)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in {"SEVERE", "ERROR"}]
    assert errors == []
    # A file:// page that fetched anything (a script, a font, a style) would list it here.
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, height)
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 100_000


def test_charts_show_only_published_counts_at_or_above_the_floor(
    browser: webdriver.Chrome, export: Export
) -> None:
    WebDriverWait(browser, 30).until(lambda driver: driver.execute_script(RENDERED_CHARTS_JS) > 0)
    values = browser.execute_script(COUNT_VALUES_JS)
    assert values, "no chart carries counts: the check below would prove nothing"
    # A zero (an empty group) is published; a count from 1 to the floor - 1 never is.
    assert not [value for value in values if 0 < value < export.min_cell_size]
    assert {int(value) for value in values} <= published_counts(export)
    # The score histogram is among the charts checked, and its hidden bins are written, not drawn.
    histogram = browser.execute_script(CHART_TRACES_JS, "chart-risk-0")
    bars = [trace for trace in histogram if (trace.get("meta") or {}).get("counts")]
    assert bars and all(value is None or value == 0 or value >= export.min_cell_size
                        for bar in bars for value in bar["y"])
    n_hidden = int(export.tables["risk_score_distribution"]["n_patients"].isna().sum())
    marks = browser.execute_script(
        "return (document.getElementById('chart-risk-0').layout.annotations || []).map(a => a.text);")
    assert marks.count(fmt.SUPPRESSED) == n_hidden


def test_roc_curves_draw_only_published_points(browser: webdriver.Chrome, export: Export) -> None:
    """The ROC chart draws the export's points and nothing finer: every point stands for steps of at least
    min_cell_size patients (bi.risk_roc_curve), and no count is shown."""
    WebDriverWait(browser, 30).until(lambda driver: driver.execute_script(RENDERED_CHARTS_JS) > 0)
    roc = export.tables["risk_roc_curve"]
    published = set(zip(roc["false_positive_rate"], roc["true_positive_rate"], strict=True))
    traces = browser.execute_script(CHART_TRACES_JS, "chart-validation-0")
    curves = [trace for trace in traces if trace.get("name") != "chance"]
    assert len(curves) == roc.groupby(["outcome", "scorer"]).ngroups
    drawn = {(x, y) for trace in curves for x, y in zip(trace["x"], trace["y"], strict=True)}
    assert drawn <= published and not any((trace.get("meta") or {}).get("counts") for trace in traces)


def test_report_text_holds_no_count_below_the_floor(population_report: Path, export: Export) -> None:
    page = population_report.read_text()
    counts = [int(value) for value in re.findall(r'data-count="(\d+)"', page)]
    assert counts and not [n for n in counts if 0 < n < export.min_cell_size]
    assert set(counts) <= published_counts(export)
    # The test population has suppressed cells, and the page marks them rather than leaving them out.
    n_hidden = sum(
        int(frame[column].isna().sum())
        for frame in export.tables.values()
        for column in frame.columns
        if column.startswith("n_")
    )
    assert n_hidden > 0
    assert page.count(fmt.SUPPRESSED) >= 10


def test_report_is_one_self_contained_file(population_report: Path) -> None:
    page = population_report.read_text()
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", page)
    assert page.count("<script") > 8
    assert "#!/model/model.patient_segmentation.segment_profiles" in page


def test_count_formatter_refuses_a_small_count() -> None:
    assert fmt.count(1234, 11) == "1,234"
    assert fmt.count(None, 11) == fmt.SUPPRESSED
    assert fmt.count(0, 11) == "0"
    with pytest.raises(fmt.SmallCountError):
        fmt.count(5, 11)
    assert fmt.percent(0.1234) == "12.3 %"
    assert fmt.dollars(25_029_387) == "$25.0 M"
    assert fmt.dollars(351.4) == "$351"


def unavailable_tables(sections: list[Section]) -> set[str]:
    return {item.table for section in sections for item in section.unavailable}


def test_figures_missing_from_the_export_are_announced(export: Export) -> None:
    published = {"risk_roc_curve", "risk_score_distribution", "risk_score_validation",
                 "clustering_candidates", "data_quality_rejects"}
    assert not published & unavailable_tables(all_sections(export))
    # An older export without the ROC points and score bins, or one of a build without snapshots (a local
    # Spark session) without the segment moves, announces them instead of drawing them.
    missing = {"risk_roc_curve", "risk_score_distribution", "segment_transitions"}
    older = dataclasses.replace(export, tables={name: frame for name, frame in export.tables.items()
                                                if name not in missing})
    assert missing <= unavailable_tables(all_sections(older))
    assert "Not available in this build" in render(older, "../target/index.html")


def later_export(export: Export) -> Export:
    """The export as it will look once schema bi holds the figures the report asks for."""
    build_info = export.tables["build_info"].assign(
        segmentation_method="kmeans, k = 6",
        segmentation_reason="highest silhouette among stable candidates",
        data_source="synthetic",
        data_end_real_year=2022,
    )
    roc = pd.DataFrame(
        {
            "outcome": ["death_1y"] * 6,
            "scorer": ["risk_score"] * 3 + ["charlson"] * 3,
            "false_positive_rate": [0, 0.3, 1] * 2,
            "true_positive_rate": [0, 0.7, 1, 0, 0.6, 1],
        }
    )
    auroc = pd.DataFrame(
        {"outcome": ["death_1y"] * 2, "scorer": ["risk_score", "charlson"], "auroc": [0.8, 0.7]}
    )
    evaluation = pd.DataFrame(
        {
            "algorithm": ["kmeans", "kmeans", "gmm"],
            "parameter_value": [2.0, 3.0, 2.0],
            "silhouette": [0.4, 0.5, 0.3],
            "davies_bouldin": [1.0, 0.9, 1.2],
            "stability": [0.9, 0.95, 0.8],
            "is_selected": [False, True, False],
        }
    )
    distribution = pd.DataFrame(
        {
            "risk_tier": ["low", "low", "complex"],
            "score_bin_lower": [0.0, 0.1, 0.7],
            "score_bin_upper": [0.1, 0.2, 0.8],
            "n_patients": [500, 300, 40],
        }
    )
    rejects = pd.DataFrame({"source_table": ["admissions"], "reject_reason": ["orphan"], "n_rows": [25]})
    tables = {
        **export.tables,
        "build_info": build_info,
        "risk_roc_curve": roc,
        "risk_score_validation": auroc,
        "clustering_candidates": evaluation,
        "risk_score_distribution": distribution,
        "data_quality_rejects": rejects,
    }
    return dataclasses.replace(export, tables=tables)


def test_figures_are_drawn_once_the_export_holds_them(export: Export) -> None:
    sections = all_sections(later_export(export))
    assert unavailable_tables(sections) == set()
    by_key = {section.key: section for section in sections}
    assert len(by_key["validation"].figures) == 2 and "0.800" in by_key["validation"].table_html
    assert by_key["clustering"].figures and by_key["quality"].figures
    facts = dict(by_key["overview"].facts)
    assert facts["Data source"] == "synthetic, data through 2022" and "Living patients" in facts
    assert "kmeans at 3" in by_key["clustering"].reading


def test_summary_names_population_segments_and_paths(export: Export, tmp_path: Path) -> None:
    text = summary_text(export, tmp_path / "report.html", tmp_path / "run.log", ["no_rejected_rows (WARN 3)"],
                        [("Engine", "Apache Spark")])
    segments = export.tables["segment_profiles"]["segment_name"]
    assert all(name in text for name in segments)
    assert "Warnings    1" in text and "no_rejected_rows" in text and "\n  Engine      Apache Spark\n" in text
    assert str((tmp_path / "report.html").resolve()) in text and "make sql" in text


def test_build_progress_prints_stages_once_and_keeps_test_lines_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = [
        "18:03:14  1 of 9 START seed file reference.age_buckets .................. [RUN]",
        "18:03:14  1 of 9 OK loaded seed file reference.age_buckets ................ [INSERT 5 in 0.13s]",
        "18:03:15  2 of 9 START sql table model staging.stg_a ..................... [RUN]",
        "18:03:15  3 of 9 START sql table model staging.stg_b ..................... [RUN]",
        "18:03:16  4 of 9 START test not_null_stg_a_subject_id .................... [RUN]",
        "18:03:16  4 of 9 PASS not_null_stg_a_subject_id .......................... [PASS in 0.1s]",
        "18:03:16  5 of 9 WARN 3 no_rejected_rows ................................. [WARN 3 in 0.1s]",
        "18:03:17  6 of 9 START python table model marts.cluster_evaluation ....... [RUN]",
        "18:03:18  7 of 9 ERROR creating sql table model bi.build_info ............ [ERROR in 0.2s]",
    ]
    result = BuildResult()
    handler = build_progress(result)
    for line in lines:
        assert NODE_LINE.match(line), line
        handler(line)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "    [   1/9] reference tables (seeds)",
        "    [   2/9] staging views",
        "    [   6/9] clustering: cluster_evaluation",
    ]
    assert result.warnings == ["no_rejected_rows (WARN 3 in 0.1s)"]
    assert result.errors == ["creating sql table model bi.build_info (ERROR in 0.2s)"]
    assert result.statuses == {"OK": 1, "PASS": 1, "WARN": 1, "ERROR": 1}


def test_settings_file_vars_apply_and_one_off_vars_win(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yml"
    assert dbt_flags(settings, "--threads 1") == ["--threads", "1"]
    settings.write_text("vars:\n  min_cell_size: 20\n  cost_min_observed_years: 2\n")
    flags = dbt_flags(settings, "--vars '{min_cell_size: 30}' --threads 1")
    assert flags[:2] == ["--threads", "1"] and flags[2] == "--vars"
    assert flags[3] == "{cost_min_observed_years: 2, min_cell_size: 30}"
    settings.write_text("min_cell_size: 20\n")
    with pytest.raises(SettingsError, match="vars"):
        dbt_flags(settings, "")


def test_interactive_shell_runs_statements_and_lists_tables(
    synthetic_export: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    statements = "select 41 + 1\n  as answer;\nselect nonsense;\n.tables\n.quit\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(statements))
    assert interactive(synthetic_export / "bi.duckdb") == 0
    output = capsys.readouterr()
    assert "answer" in output.out and "42" in output.out and "main.segment_profiles" in output.out
    assert output.err.startswith("error: ") and "nonsense" in output.err


def test_a_warehouse_open_elsewhere_fails_in_one_line(synthetic_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(synthetic_warehouse, warehouse)
    holder = duckdb.connect(str(warehouse))
    try:
        result = run_cli(
            [sys.executable, "-m", "report.run", "build"],
            check=False,
            env={"WAREHOUSE": str(warehouse), "RUN_LOG_DIR": str(tmp_path / "logs")},
        )
    finally:
        holder.close()
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"PID {os.getpid()}" in result.stderr and "make sql" in result.stderr
    assert lock_message("unrelated failure", warehouse) is None


# Make targets that rebuild everything, install packages or run a test suite (make test-spark runs on its own
# in .ci/run) are checked with `make -n`: the target exists and its recipe expands; everything else runs for
# real in a copy of the repository holding the test warehouse.
DRY_RUN_TARGETS = {"run", "build", "data", "test", "test-spark", "bench", "setup", "setup-spark", "docs"}
FENCED_BLOCK = re.compile(r"```(sh|python)\n(.*?)```", re.DOTALL)


def documented_commands() -> list[tuple[str, str, str]]:
    """(file, language, command) of every sh line and python block in README.md and docs/*.md."""
    found = []
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        for language, body in FENCED_BLOCK.findall(path.read_text()):
            joined = body.replace("\\\n", " ")
            commands = (
                [joined]
                if language == "python"
                else [
                    line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
                ]
            )
            found += [(path.name, language, command) for command in commands]
    return found


@pytest.fixture(scope="module")
def sandbox(
    synthetic_warehouse: Path, synthetic_export: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A linked copy of the repository with the test warehouse and export in place of the user's."""
    root = tmp_path_factory.mktemp("sandbox")
    for entry in REPO_ROOT.iterdir():
        if entry.name not in {"warehouse.duckdb", "exports", "target", "logs", "settings.yml", "artifacts"}:
            (root / entry.name).symlink_to(entry)
    shutil.copy(synthetic_warehouse, root / "warehouse.duckdb")
    run_cli(
        [sys.executable, "-m", "publish", "--db", "warehouse.duckdb", "--out", "exports"],
        cwd=root,
        env={"WAREHOUSE": "warehouse.duckdb"},
    )
    return root


def test_documented_commands_run_as_written(sandbox: Path) -> None:
    commands = documented_commands()
    assert len(commands) >= 10
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"WAREHOUSE", "EXPORTS", "SETTINGS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    }
    for source, language, command in commands:
        words = command.split()
        if words[:1] == ["make"] and len(words) > 1 and words[1] in DRY_RUN_TARGETS:
            command = command.replace("make", "make -n", 1)
        args = (
            [str(sandbox / ".venv/bin/python"), "-c", command]
            if language == "python"
            else ["bash", "-c", command]
        )
        result = subprocess.run(
            args,
            cwd=sandbox,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert result.returncode == 0, (
            f"{source}: {command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )


def test_exposures_point_at_sections_of_the_report(population_report: Path) -> None:
    exposures_file = REPO_ROOT / "dbt_project/models/marts/bi/_bi__exposures.yml"
    exposures = yaml.safe_load(exposures_file.read_text())["exposures"]
    section_ids = set(re.findall(r'<section id="([^"]+)"', population_report.read_text()))
    for exposure in exposures:
        path, _, anchor = exposure["url"].partition("#")
        assert path == "../exports/population_report.html", exposure["name"]
        assert not anchor or anchor in section_ids, exposure["name"]
    overview = (REPO_ROOT / "dbt_project/models/_overview.md").read_text()
    assert overview.startswith("{% docs __overview__ %}") and "population_report.html" in overview
