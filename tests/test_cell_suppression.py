"""The cell-suppression solver (cell_suppression/solver.py) on equations small enough to work out by hand, and
its SQL function on DuckDB. The minimum cell size is 11 throughout, as in the marts."""

from __future__ import annotations

import duckdb
import pytest

from cell_suppression.duckdb_plugin import register
from cell_suppression.solver import SuppressionError, suppress

MIN_CELL_SIZE = 11


def cell(cell_id: str, n: int, *, published: bool = True, headline: bool = False,
         fixed: bool | None = None) -> dict:
    return {"cell_id": cell_id, "n": n, "is_published": published, "is_headline": headline,
            "fixed_is_suppressed": fixed}


def equation(constraint_id: str, total: str, *parts: str) -> list[dict]:
    return [{"constraint_id": constraint_id, "cell_id": total, "is_total": True}] + [
        {"constraint_id": constraint_id, "cell_id": part, "is_total": False} for part in parts]


def decisions(cells: list[dict], memberships: list[dict]) -> dict[str, tuple]:
    return {decision.cell_id: (decision.is_suppressed, decision.reason, decision.protects_cell_id)
            for decision in suppress(cells, memberships, MIN_CELL_SIZE)}


def hidden(cells: list[dict], memberships: list[dict]) -> set[str]:
    return {cell_id for cell_id, (suppressed, _, _) in decisions(cells, memberships).items() if suppressed}


def test_a_small_part_is_hidden_with_the_other_part_rather_than_the_total() -> None:
    # 20 patients = 3 women + 17 men: hiding the 3 alone gives it away as 20 - 17.
    result = decisions([cell("all", 20), cell("women", 3), cell("men", 17)],
                       equation("sex", "all", "women", "men"))
    assert result == {"all": (False, None, None), "women": (True, "below_min_cell_size", None),
                      "men": (True, "protects", "women")}


def test_zeros_are_shown_and_an_equation_of_small_counts_needs_no_partner() -> None:
    by_sex = equation("sex", "all", "women", "men")
    assert hidden([cell("all", 14), cell("women", 0), cell("men", 14)], by_sex) == set()
    # 5 = 0 + 5: both fives are hidden, the zero is shown, and the two unknowns protect each other.
    assert hidden([cell("all", 5), cell("women", 0), cell("men", 5)], by_sex) == {"all", "men"}


def test_one_cell_that_protects_two_equations_is_preferred_unless_it_is_a_headline_figure() -> None:
    # 30 patients = 3 women + 27 men = 5 young + 25 old: hiding the total protects both small counts at once.
    cells = [cell("all", 30), cell("women", 3), cell("men", 27), cell("young", 5), cell("old", 25)]
    memberships = equation("sex", "all", "women", "men") + equation("age", "all", "young", "old")
    assert hidden(cells, memberships) == {"women", "young", "all"}
    # With the total as a headline figure it stays shown and each equation hides its other part.
    cells[0] = cell("all", 30, headline=True)
    assert hidden(cells, memberships) == {"women", "young", "men", "old"}


def test_a_figure_another_mart_hides_is_hidden_and_protected_here_too() -> None:
    result = decisions([cell("all", 100, fixed=False), cell("a", 40, fixed=True), cell("b", 60)],
                       equation("parts", "all", "a", "b"))
    assert result == {"all": (False, None, None), "a": (True, "fixed", None), "b": (True, "protects", "a")}


def test_an_unpublished_difference_that_is_small_is_protected() -> None:
    # 30 admissions, 25 of them in the ICU: the 5 without ICU care follow from two shown figures.
    cells = [cell("admissions", 30), cell("icu", 25), cell("non_icu", 5, published=False)]
    result = decisions(cells, equation("difference", "admissions", "icu", "non_icu"))
    assert result["icu"] == (True, "protects", "non_icu")
    assert result["admissions"] == (False, None, None)
    assert result["non_icu"][0] is False  # never published, so never counted as suppressed


def test_a_small_count_nothing_can_protect_fails_with_the_mart_and_the_equation() -> None:
    # Both other figures are shown by another mart, so the 3 would be 20 - 17 whatever this mart hides.
    cells = [cell("all", 20, fixed=False), cell("women", 3), cell("men", 17, fixed=False)]
    recoverable = "bi.example left a small count recoverable from constraint sex$"
    with pytest.raises(SuppressionError, match=recoverable):
        suppress(cells, equation("sex", "all", "women", "men"), MIN_CELL_SIZE, relation="bi.example")


def test_the_sql_function_returns_one_decision_per_cell_and_stops_the_query_on_failure() -> None:
    connection = duckdb.connect()
    register(connection)
    connection.sql("""
        create table cells as select * from (values
            ('all', 20, true, false, null::boolean),
            ('women', 3, true, false, null),
            ('men', 17, true, false, null)
        ) as t (cell_id, n, is_published, is_headline, fixed_is_suppressed);
        create table memberships as select * from (values
            ('sex', 'all', true), ('sex', 'women', false), ('sex', 'men', false)
        ) as t (constraint_id, cell_id, is_total)
    """)
    call = """
        select * from (
            select unnest(suppress_cells(
                (select list(struct_pack(cell_id, n, is_published, is_headline, fixed_is_suppressed))
                 from cells),
                (select list(struct_pack(constraint_id, cell_id, is_total)) from memberships),
                11, 1000, 'bi.example'), recursive := true)
        )
        order by cell_id
    """
    assert connection.sql(call).fetchall() == [("all", False, None, None), ("men", True, "protects", "women"),
                                               ("women", True, "below_min_cell_size", None)]
    connection.sql("update cells set fixed_is_suppressed = false where cell_id <> 'women'")
    with pytest.raises(duckdb.Error, match="bi.example left a small count recoverable"):
        connection.sql(call).fetchall()
    connection.close()
