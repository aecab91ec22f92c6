"""python -m publish: the export BI tools read (Parquet and a read-only DuckDB file of views), its atomic
replacement, formula escaping, and access through SQLAlchemy with duckdb_engine as docs/bi.md describes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import record_build, record_complete_build, run_cli

from publish import export as export_module
from publish.export import FORMULA_PREFIXES

FORMULA_TEXTS = ["=HYPERLINK(\"http://x\")", "+1+2", "-3", "@SUM(A1)", "\tcmd", "\rcmd"]
PLAIN_TEXTS = ["Chronic stable", "a=b", "", None]


def publish(warehouse: Path, out: Path, *extra: str, check: bool = True):
    return run_cli([sys.executable, "-m", "publish", "--db", str(warehouse), "--out", str(out), *extra],
                   check=check)


def bi_url(database: Path) -> str:
    """The SQLAlchemy URL of docs/bi.md: four slashes before an absolute path, read-only access, no access to
    any file but the export's own, settings locked."""
    return (f"duckdb:///{database.resolve()}"
            "?access_mode=read_only&enable_external_access=false&lock_configuration=true")


def make_warehouse(path: Path, build_id: str, labels: list[str | None], n_patients: int = 25,
                   min_cell_size: int = 11) -> Path:
    """A warehouse holding only what publish reads: schema bi with build_info and one mart, and the log of
    the complete build that made them."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema if not exists bi")
        connection.execute("create or replace table bi.build_info as "
                           "select ? as build_id, ? as min_cell_size", [build_id, min_cell_size])
        connection.execute("create or replace table bi.segment_profiles (segment_name varchar, "
                           "n_patients bigint, share_female double)")
        connection.executemany("insert into bi.segment_profiles values (?, ?, 0.5)",
                               [[label, n_patients] for label in labels])
        connection.execute("comment on table bi.segment_profiles is 'One row per segment.'")
        connection.execute("comment on column bi.segment_profiles.n_patients is 'Patients of the segment.'")
        record_complete_build(connection, build_id, ["build_info", "segment_profiles"], min_cell_size)
    return path


def exported_rows(path: Path) -> list[tuple[object, ...]]:
    return duckdb.sql(f"select segment_name, n_patients, share_female from read_parquet('{path}')").fetchall()


def test_every_mart_readable_through_sqlalchemy(synthetic_warehouse: Path, synthetic_export: Path) -> None:
    # The shared export of that warehouse: publishing it again here could meet another worker's publish of
    # the same warehouse, which the pipeline lock refuses by design.
    out = synthetic_export
    with duckdb.connect(str(synthetic_warehouse), read_only=True) as connection:
        marts = sorted(row[0] for row in connection.execute(
            "select table_name from duckdb_tables() where schema_name = 'bi'").fetchall())
        expected = {mart: connection.execute(f"select * from bi.{mart}").df() for mart in marts}
    assert {"segment_profiles", "care_management_summary", "population_kpis", "condition_cohort_profiles",
            "segment_transitions", "segment_tier_matrix", "risk_score_validation", "risk_roc_curve",
            "risk_score_distribution", "build_info"} <= set(marts)

    engine = sa.create_engine(bi_url(out / "bi.duckdb"))
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        assert "bi.main" in inspector.get_schema_names()
        assert sorted(inspector.get_view_names()) == marts
        for mart in marts:
            # The same name resolves in the warehouse (schema bi) and in the export (database bi).
            exported = pd.read_sql(sa.text(f"select * from bi.{mart}"), connection)
            assert len(exported) == len(expected[mart]), mart
            assert list(exported.columns) == list(expected[mart].columns), mart
        comment = connection.execute(sa.text(
            "select comment from duckdb_views() where view_name = 'segment_profiles'")).scalar()
        assert comment and "segment" in comment
        with pytest.raises(sa.exc.DBAPIError, match="read-only"):
            connection.execute(sa.text("create table bi.scratch as select 1"))
    # The engine's pooled connection keeps the export open with its own settings, which another connection to
    # the same file in this process could not match.
    engine.dispose()


# How a column description states the precision of macros/bi_precision.sql.
PRECISION = re.compile(r"Rounded to (\d+) decimals")


def test_every_number_of_the_export_is_rounded_as_its_description_says(synthetic_export: Path) -> None:
    """Each non-count number a BI user reads says in its description how many decimals it has, and has no
    more (docs: doc block bi_precision)."""
    with duckdb.connect(str(synthetic_export / "bi.duckdb"), read_only=True) as connection:
        columns = connection.execute(
            "select table_name, column_name, comment from duckdb_columns() "
            "where database_name = 'bi' and schema_name = 'main' "
            "and (data_type in ('DOUBLE', 'FLOAT') or data_type like 'DECIMAL%') order by all"
        ).fetchall()
        assert len(columns) > 50
        checked = set()
        for table, column, comment in columns:
            match = PRECISION.search(comment or "")
            assert match, f"{table}.{column}: its description does not say how it is rounded"
            decimals = int(match.group(1))
            values = connection.execute(f'select "{column}" from "{table}" where "{column}" is not null').df()
            scaled = values[column].to_numpy(dtype="float64") * 10.0 ** decimals
            # Doubles hold decimals inexactly: 0.1234 * 10**4 is 1234 within a few units in the last place.
            off = np.abs(scaled - np.round(scaled)) > 1e-6 * np.maximum(1.0, np.abs(scaled))
            assert not off.any(), f"{table}.{column}: {values[column][off].iloc[0]} has more than {decimals}"
            checked.add(table)
    assert {"risk_roc_curve", "risk_score_distribution", "population_kpis", "segment_profiles"} <= checked


def test_formula_text_is_escaped_and_other_values_kept(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", "build-1", FORMULA_TEXTS + PLAIN_TEXTS)
    out = tmp_path / "exports"
    publish(warehouse, out)
    exported = exported_rows(out / "current" / "segment_profiles.parquet")
    expected = ["'" + text for text in FORMULA_TEXTS] + PLAIN_TEXTS
    assert sorted((row[0] for row in exported), key=str) == sorted(expected, key=str)
    assert not any(row[0].startswith(FORMULA_PREFIXES) for row in exported if row[0] is not None)
    assert all(row[1:] == (25, 0.5) for row in exported)
    with duckdb.connect(str(out / "bi.duckdb"), read_only=True) as connection:
        through_view = connection.execute("select * from segment_profiles").fetchall()
    assert sorted(through_view, key=str) == sorted(exported, key=str)


def test_a_new_export_replaces_the_current_one_atomically(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    out = tmp_path / "exports"
    make_warehouse(warehouse, "build-1", ["first"])
    publish(warehouse, out)
    first = (out / "current").resolve()
    # A reader that opened the export before the next one keeps reading its whole build.
    reader = duckdb.connect(str(out / "bi.duckdb"), read_only=True)
    try:
        make_warehouse(warehouse, "build-2", ["second"])
        publish(warehouse, out)
        second = (out / "current").resolve()
        assert second != first and first.is_dir()
        assert reader.execute("select segment_name from segment_profiles").fetchall() == [("first",)]
    finally:
        reader.close()
    with duckdb.connect(str(out / "bi.duckdb"), read_only=True) as connection:
        assert connection.execute("select segment_name from segment_profiles").fetchall() == [("second",)]
        assert connection.execute("select build_id from build_info").fetchall() == [("build-2",)]
    manifest = json.loads((second / "build.json").read_text())
    assert manifest["build_id"] == "build-2"
    assert manifest["tables"] == {"build_info": 1, "segment_profiles": 1}

    make_warehouse(warehouse, "build-3", ["third"])
    publish(warehouse, out)
    kept = sorted(path.name for path in (out / "builds").iterdir())
    assert len(kept) == 2 and first.name not in kept and second.name in kept
    assert not list(out.glob("*.tmp-*")) and not list((out / "builds").glob("*.tmp-*"))


def test_a_failed_export_leaves_the_current_one_untouched(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    out = tmp_path / "exports"
    make_warehouse(warehouse, "build-1", ["first"])
    publish(warehouse, out)
    current = (out / "current").resolve()
    database = (out / "bi.duckdb").read_bytes()

    make_warehouse(warehouse, "build-2", ["second"], n_patients=7)
    result = publish(warehouse, out, check=False)
    assert result.returncode == 1
    assert "bi.segment_profiles.n_patients" in result.stderr and "min_cell_size 11" in result.stderr
    assert (out / "current").resolve() == current
    assert (out / "bi.duckdb").read_bytes() == database
    assert [path.name for path in (out / "builds").iterdir()] == [current.name]


def test_unusable_input_is_refused_with_a_message(tmp_path: Path) -> None:
    missing = publish(tmp_path / "missing.duckdb", tmp_path / "exports", check=False)
    assert missing.returncode == 1 and "missing.duckdb does not exist" in missing.stderr

    no_build = tmp_path / "empty.duckdb"
    duckdb.connect(str(no_build)).close()
    result = publish(no_build, tmp_path / "exports", check=False)
    assert result.returncode == 1 and "has no build log" in result.stderr

    keep = publish(make_warehouse(tmp_path / "w.duckdb", "b", ["x"]), tmp_path / "exports", "--keep", "0",
                   check=False)
    assert keep.returncode == 1 and "--keep must be at least 1" in keep.stderr


# --- the export is no door into the warehouse ---------------------------------------------------------------

@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, Path]:
    """A warehouse (with patient-level data beside its marts) and its export."""
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", "build-1", ["Chronic stable", "Complex care"])
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema marts")
        connection.execute("create table marts.patient_features as select 10100001 as subject_id")
    out = tmp_path / "exports"
    publish(warehouse, out)
    return warehouse, out


# DuckDB's refusals: of a file, of an extension, of a setting, of a write.
REFUSED = ("disabled by configuration|disabled through configuration|configuration has been locked|"
           "read-only")
ESCAPES = {
    "list files with glob()": "select * from glob('/*')",
    "attach the warehouse": "attach '{warehouse}' as warehouse (read_only)",
    "read any file with read_csv": "select * from read_csv('/etc/passwd', sep = ':')",
    "read any file with read_text": "select * from read_text('{warehouse}')",
    "read the export's own Parquet": "select * from read_parquet('{out}/current/segment_profiles.parquet')",
    "overwrite an exported file with COPY": "copy (select 'forged' as segment_name) to "
                                            "'{out}/current/segment_profiles.parquet' (format parquet)",
    "write files with EXPORT DATABASE": "export database '{out}/dump'",
    "re-enable external access": "set enable_external_access = true",
    "unlock the configuration": "set lock_configuration = false",
    "reset the lock": "reset lock_configuration",
    "widen allowed_directories": "set allowed_directories = ['/']",
    "load an extension": "load httpfs",
    "create a table": "create table bi.scratch as select 1",
}


@pytest.mark.parametrize("statement", ESCAPES.values(), ids=ESCAPES.keys())
def test_each_escape_from_the_bi_connection_is_refused(published: tuple[Path, Path], statement: str) -> None:
    warehouse, out = published
    parquet = out / "current" / "segment_profiles.parquet"
    before = parquet.read_bytes()
    engine = sa.create_engine(bi_url(out / "bi.duckdb"))
    with engine.connect() as connection:
        with pytest.raises(sa.exc.DBAPIError, match=REFUSED):
            connection.execute(sa.text(statement.format(warehouse=warehouse.resolve(), out=out.resolve())))
        connection.rollback()
        # The refusal costs nothing: every mart still answers on the same connection.
        for view in sa.inspect(connection).get_view_names():
            assert connection.execute(sa.text(f"select count(*) from bi.{view}")).scalar() >= 1, view
        setting = connection.execute(sa.text("select current_setting('enable_external_access')")).scalar()
        assert setting is False
    assert parquet.read_bytes() == before
    assert not (out / "dump").exists()


def test_the_export_needs_no_other_file(published: tuple[Path, Path], tmp_path: Path) -> None:
    """bi.duckdb holds the marts' rows: moved elsewhere, with the export folder gone, it still answers."""
    _, out = published
    moved = tmp_path / "elsewhere" / "bi.duckdb"
    moved.parent.mkdir()
    moved.write_bytes((out / "bi.duckdb").read_bytes())
    shutil.rmtree(out)
    with sa.create_engine(bi_url(moved)).connect() as connection:
        query = sa.text("select segment_name from bi.segment_profiles order by 1")
        rows = connection.execute(query).fetchall()
    assert rows == [("Chronic stable",), ("Complex care",)]


# --- only one complete, successful build is exported --------------------------------------------------------

def add_mart(warehouse: Path, name: str) -> None:
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(f"create or replace table bi.{name} as select 'x' as label, 30 as n_patients")


MARTS = ["build_info", "segment_profiles", "segment_tier_matrix"]


@pytest.mark.parametrize(("statuses", "finished", "expected"), [
    ({"build_info": "success", "segment_profiles": "not selected", "segment_tier_matrix": "not selected"},
     True, "stale marts: bi.segment_profiles, bi.segment_tier_matrix"),
    ({"build_info": "success", "segment_profiles": "success", "segment_tier_matrix": "skipped"}, True,
     "did not succeed (1 nodes failed, errored or were skipped"),
    ({"build_info": "success", "segment_profiles": "error", "segment_tier_matrix": "success"}, True,
     "stale marts: bi.segment_profiles"),
    ({"build_info": "success", "segment_profiles": "success", "segment_tier_matrix": "success"}, False,
     "never finished (killed, or still running): the marts may mix two builds"),
], ids=["a --select rebuilt only build_info", "a mart skipped", "a mart failed", "a build killed half way"])
def test_a_partial_or_failed_build_is_not_exported(tmp_path: Path, statuses: dict[str, str], finished: bool,
                                                   expected: str) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", "build-1", ["first"])
    add_mart(warehouse, "segment_tier_matrix")
    out = tmp_path / "exports"
    with duckdb.connect(str(warehouse)) as connection:
        record_complete_build(connection, "build-1", MARTS)
    publish(warehouse, out)
    database = (out / "bi.duckdb").read_bytes()
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("update bi.build_info set build_id = 'build-2'")
        record_build(connection, "build-2", statuses, finished=finished)
    result = publish(warehouse, out, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: nothing exported")
    assert expected in result.stderr
    assert (out / "bi.duckdb").read_bytes() == database
    assert len(list((out / "builds").iterdir())) == 1


def test_marts_built_from_other_data_are_not_exported(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", "build-1", ["first"])
    with duckdb.connect(str(warehouse)) as connection:
        # A load landed while the build ran (what the pipeline lock prevents).
        record_build(connection, "build-2", {"build_info": "success", "segment_profiles": "success"},
                     load_ids=("load-a", "load-b"))
        connection.execute("update bi.build_info set build_id = 'build-2'")
    result = publish(warehouse, tmp_path / "exports", check=False)
    assert result.returncode == 1
    assert "the raw tables changed during or after dbt build build-2" in result.stderr


def test_min_cell_size_below_the_floor_needs_the_explicit_flag(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", "build-1", ["first"], n_patients=6,
                               min_cell_size=6)
    out = tmp_path / "exports"
    refused = publish(warehouse, out, check=False)
    assert refused.returncode == 1
    assert "built with min_cell_size 6, below the floor of 11" in refused.stderr
    assert "--unsafe-allow-min-cell-size-below-11" in refused.stderr
    assert not (out / "bi.duckdb").exists()
    publish(warehouse, out, "--unsafe-allow-min-cell-size-below-11")
    assert exported_rows(out / "current" / "segment_profiles.parquet") == [("first", 6, 0.5)]


# --- failed and concurrent exports -------------------------------------------------------------------------

def test_a_failed_export_leaves_no_orphan_folder_or_temporary_file(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", "build-1", ["first"])
    out = tmp_path / "exports"
    export_module.publish(warehouse, out)
    before = sorted(path.relative_to(out).as_posix() for path in out.rglob("*"))
    make_warehouse(warehouse, "build-2", ["second"])

    def disk_full(path: Path, *_: object) -> None:
        path.write_bytes(b"partial")
        Path(f"{path}.wal").write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "write_view_database", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        export_module.publish(warehouse, out)
    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("*")) == before


def test_leftovers_of_a_killed_export_go_and_the_previous_export_stays(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    out = tmp_path / "exports"
    published = []
    for build in ("build-1", "build-2"):
        make_warehouse(warehouse, build, [build])
        publish(warehouse, out)
        published.append((out / "current").resolve().name)
    # What an export killed half way leaves: a finished folder never made current (its name sorts last),
    # its temporary folder and files.
    orphan = out / "builds" / "99991231T000000000000Z-orphaned"
    shutil.copytree(out / "current", orphan)
    (out / "builds" / "99991231T000000000000Z-x.tmp-4242").mkdir()
    for name in ("bi.duckdb.tmp-4242", "bi.duckdb.tmp-4242.wal", "current.tmp-4242"):
        (out / name).write_text("")
    make_warehouse(warehouse, "build-3", ["build-3"])
    publish(warehouse, out)
    current = (out / "current").resolve().name
    # The previous export (readers of the Parquet files may still be on it) is kept; the orphan is not.
    assert sorted(path.name for path in (out / "builds").iterdir()) == sorted([published[1], current])
    assert not list(out.rglob("*.tmp-*"))


def test_a_second_export_into_the_same_folder_waits_for_none(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", "build-1", ["first"])
    out = tmp_path / "exports"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from publish.lock import warehouse_lock\n"
        f"with warehouse_lock(Path({str(out / 'bi.duckdb')!r}), 'python -m publish (another)'):\n"
        "    print('ready', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = publish(warehouse, out, check=False)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert f"pid {holder.pid}, `python -m publish (another)`" in result.stderr
    assert not (out / "bi.duckdb").exists()


def test_status_line_says_whether_bi_tools_read_the_latest_build(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", "build-1", ["first"])
    out = tmp_path / "exports"

    def status() -> str:
        return publish(warehouse, out, "--status").stdout.strip()

    assert status() == ("note: build build-1 is not exported yet (nothing is exported yet); "
                        "`make publish` exports it")
    publish(warehouse, out)
    assert status() == "the export is up to date with build build-1"
    with duckdb.connect(str(warehouse)) as connection:
        record_build(connection, "build-2", {"build_info": "success", "segment_profiles": "not selected"})
    line = status()
    assert line.startswith("warning: the export cannot be updated")
    assert "stale marts: bi.segment_profiles" in line
