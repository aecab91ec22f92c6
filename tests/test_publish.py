"""python -m publish: the export BI tools read (Parquet and a read-only DuckDB file of views), its atomic
replacement, formula escaping, and access through SQLAlchemy with duckdb_engine as docs/bi.md describes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import run_cli

from publish.export import FORMULA_PREFIXES

FORMULA_TEXTS = ["=HYPERLINK(\"http://x\")", "+1+2", "-3", "@SUM(A1)", "\tcmd", "\rcmd"]
PLAIN_TEXTS = ["Chronic stable", "a=b", "", None]


def publish(warehouse: Path, out: Path, *extra: str, check: bool = True):
    return run_cli([sys.executable, "-m", "publish", "--db", str(warehouse), "--out", str(out), *extra],
                   check=check)


def bi_url(database: Path) -> str:
    """The SQLAlchemy URL of docs/bi.md: four slashes before an absolute path, read-only access."""
    return f"duckdb:///{database.resolve()}?access_mode=read_only"


def make_warehouse(path: Path, build_id: str, labels: list[str | None], n_patients: int = 25) -> Path:
    """A warehouse holding only what publish reads: schema bi with build_info and one mart."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema if not exists bi")
        connection.execute("create or replace table bi.build_info as "
                           "select ? as build_id, 11 as min_cell_size", [build_id])
        connection.execute("create or replace table bi.segment_profiles (segment_name varchar, "
                           "n_patients bigint, share_female double)")
        connection.executemany("insert into bi.segment_profiles values (?, ?, 0.5)",
                               [[label, n_patients] for label in labels])
        connection.execute("comment on table bi.segment_profiles is 'One row per segment.'")
        connection.execute("comment on column bi.segment_profiles.n_patients is 'Patients of the segment.'")
    return path


def exported_rows(path: Path) -> list[tuple[object, ...]]:
    return duckdb.sql(f"select segment_name, n_patients, share_female from read_parquet('{path}')").fetchall()


def test_every_mart_readable_through_sqlalchemy(synthetic_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    publish(synthetic_warehouse, out)
    with duckdb.connect(str(synthetic_warehouse), read_only=True) as connection:
        marts = sorted(row[0] for row in connection.execute(
            "select table_name from duckdb_tables() where schema_name = 'bi'").fetchall())
        expected = {mart: connection.execute(f"select * from bi.{mart}").df() for mart in marts}
    assert {"segment_profiles", "care_management_summary", "population_kpis", "condition_cohort_profiles",
            "segment_transitions", "segment_tier_matrix", "build_info"} <= set(marts)

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
    assert result.returncode == 1 and "bi.build_info is missing" in result.stderr

    keep = publish(make_warehouse(tmp_path / "w.duckdb", "b", ["x"]), tmp_path / "exports", "--keep", "0",
                   check=False)
    assert keep.returncode == 1 and "--keep must be at least 1" in keep.stderr
