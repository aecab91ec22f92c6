"""Complementary cell suppression: which published counts of a BI mart to hide, and why.

The rule (as the CMS cell size suppression policy): the counts from 1 to min_cell_size - 1 must stay
unknowable, as they can point at people. A zero only says a group is empty and is shown; a count of at least
min_cell_size is shown unless it is needed to protect a small one.

A mart hands over its cells (every count of every row, plus the unpublished differences a reader can form)
and its constraints: sets of cells tied by one equation, total = sum of parts, that a reader can form from the
published figures (macros/cell_suppression.sql builds both). The reader knows every shown figure and solves
the equations one at a time; an equation with a single unknown gives it away.

- Primary: a shown count from 1 to min_cell_size - 1 is hidden (reason below_min_cell_size).
- Complementary: unknowns are the hidden non-zero cells and the differences not worked out. A lone unknown
  that needs no protection (a difference of at least the threshold) is worked out. A lone unknown that needs
  protection (a small count, a complementary cell, a figure another mart hides) makes one more cell of its
  equation hidden (reason protects): a shown non-zero cell, preferring one outside the mart's headline counts,
  then the one whose hiding leaves fewest other equations with a lone unknown, then a part over a total, the
  smallest. An equation without such a cell may hide a worked-out difference instead, which its own equation
  then protects. A lone protected unknown of at least the threshold that nothing can protect any more is let
  go (the cell it protected then needs another partner).
- One cell is hidden per round, the best over all equations, once the reader has worked out all there is: a
  cell hidden for one equation often protects another too. Hiding a cell can undo what the reader worked out,
  so work-outs start over after each. Rounds repeat until no equation has a lone unknown.
- Greedy choices are not always the fewest: the search runs twice, ties broken once by the smallest cell and
  once by the equation with the fewest choices, and the result hiding fewer cells is kept (both are safe).

A fixed cell carries the decision another mart published for the same figure (so that one figure is shown or
hidden alike everywhere): it is never picked here, and a hidden one is protected here as well.
tests/test_marts.py checks, by solving the published equations, that no small count can be recovered from any
mart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STRATEGIES = (1, 2)
SMALLEST_CELL, FEWEST_CHOICES = STRATEGIES


class SuppressionError(ValueError):
    """A small count would stay recoverable: no cell is left to protect it, or the rounds ran out."""


@dataclass
class Cell:
    cell_id: str
    n: int
    is_published: bool
    is_headline: bool
    is_fixed: bool
    is_hidden: bool
    needs_protection: bool
    reason: str | None
    is_worked_out: bool = False
    is_let_go: bool = False
    protects_cell_id: str | None = None
    changes: int = 0

    @property
    def is_unknown(self) -> bool:
        """Unknown to the reader: hidden, not zero, and neither worked out nor let go."""
        return self.is_hidden and self.n > 0 and not self.is_worked_out and not self.is_let_go

    @property
    def can_protect(self) -> bool:
        """Could be hidden to protect another: a shown non-zero cell not fixed by another mart, or a
        worked-out difference that needs no protection itself."""
        if self.n <= 0:
            return False
        if self.is_published:
            return not self.is_hidden and not self.is_fixed
        return self.is_worked_out and not self.needs_protection


@dataclass(frozen=True)
class Constraint:
    constraint_id: str
    members: tuple[tuple[str, bool], ...]  # (cell_id, is_total)


@dataclass
class Decision:
    cell_id: str
    is_suppressed: bool
    reason: str | None
    protects_cell_id: str | None


@dataclass
class _Round:
    """What the reader can do with one strategy's cells this round."""
    lone: dict[str, str] = field(default_factory=dict)  # constraint_id -> its only unknown cell
    settled: set[str] = field(default_factory=set)  # constraints without any unknown


def start_cells(cells: Iterable[Mapping[str, Any]], min_cell_size: int) -> dict[str, Cell]:
    """The cells as the reader first sees them. Unpublished cells are unknown until worked out; a shown cell
    is hidden when small, or as another mart decided (fixed_is_suppressed not null)."""
    started: dict[str, Cell] = {}
    for cell in cells:
        n = int(cell["n"])
        fixed = cell.get("fixed_is_suppressed")
        is_small = 1 <= n <= min_cell_size - 1
        if not cell["is_published"]:
            is_hidden, reason = True, None
        elif fixed is not None:
            is_hidden, reason = bool(fixed), "fixed" if fixed else None
        else:
            is_hidden, reason = is_small, "below_min_cell_size" if is_small else None
        started[cell["cell_id"]] = Cell(
            cell_id=cell["cell_id"], n=n, is_published=bool(cell["is_published"]),
            is_headline=bool(cell.get("is_headline")), is_fixed=fixed is not None, is_hidden=is_hidden,
            needs_protection=is_small or bool(fixed), reason=reason,
        )
    return started


def group_constraints(memberships: Iterable[Mapping[str, Any]]) -> list[Constraint]:
    members: dict[str, list[tuple[str, bool]]] = {}
    for membership in memberships:
        members.setdefault(membership["constraint_id"], []).append(
            (membership["cell_id"], bool(membership["is_total"])))
    return [Constraint(constraint_id, tuple(cells)) for constraint_id, cells in sorted(members.items())]


def reader_view(cells: Mapping[str, Cell], constraints: list[Constraint]) -> _Round:
    view = _Round()
    for constraint in constraints:
        unknown = sorted(cell_id for cell_id, _ in constraint.members if cells[cell_id].is_unknown)
        if not unknown:
            view.settled.add(constraint.constraint_id)
        elif len(unknown) == 1:
            view.lone[constraint.constraint_id] = unknown[0]
    return view


Change = tuple[str, list[str], str | None]


def next_change(cells: dict[str, Cell], constraints: list[Constraint],
                by_cell: Mapping[str, list[Constraint]], strategy: int, min_cell_size: int) -> Change | None:
    """One round's move for one strategy: ('work_out', cells, None), else ('let_go', cells, None), else
    ('pick', [cell], the cell it protects), else None when no equation has a lone unknown left."""
    view = reader_view(cells, constraints)
    work_outs = sorted({cell_id for cell_id in view.lone.values() if not cells[cell_id].needs_protection})
    if work_outs:
        return "work_out", work_outs, None
    # (equation, the cell it must protect, a cell that can, is_total, choices in the equation)
    candidates = []
    let_gos = set()
    for constraint in constraints:
        protected = view.lone.get(constraint.constraint_id)
        if protected is None or not cells[protected].needs_protection:
            continue
        choices = [(cell_id, is_total) for cell_id, is_total in constraint.members
                   if cells[cell_id].can_protect]
        if not choices and cells[protected].n >= min_cell_size:
            let_gos.add(protected)
        candidates.extend((constraint.constraint_id, protected, cell_id, is_total, len(choices))
                          for cell_id, is_total in choices)
    if let_gos:
        return "let_go", sorted(let_gos), None
    if not candidates:
        return None

    def cost(cell_id: str) -> int:
        """Equations left with a lone unknown by hiding the cell, less those it settles."""
        opened = sum(1 for c in by_cell[cell_id] if c.constraint_id in view.settled)
        served = sum(1 for c in by_cell[cell_id]
                     if c.constraint_id in view.lone and cells[view.lone[c.constraint_id]].needs_protection)
        return opened - served

    costs = {cell_id: cost(cell_id) for _, _, cell_id, _, _ in candidates}

    def preference(candidate: tuple[str, str, str, bool, int]) -> tuple:
        constraint_id, _, cell_id, is_total, n_choices = candidate
        cell = cells[cell_id]
        return (not cell.is_published, cell.is_headline, costs[cell_id],
                n_choices if strategy == FEWEST_CHOICES else 0, is_total, cell.n, cell_id, constraint_id)

    _, protected, cell_id, _, _ = min(candidates, key=preference)
    return "pick", [cell_id], protected


def solve_strategy(cells: dict[str, Cell], constraints: list[Constraint], strategy: int, min_cell_size: int,
                   max_changes: int) -> dict[str, Cell]:
    by_cell: dict[str, list[Constraint]] = {}
    for constraint in constraints:
        for cell_id, _ in constraint.members:
            by_cell.setdefault(cell_id, []).append(constraint)
    while (change := next_change(cells, constraints, by_cell, strategy, min_cell_size)) is not None:
        action, changed, protected = change
        # A cell changed max_changes times is frozen; the round then stops, and the check below fails.
        changeable = [cell_id for cell_id in changed if cells[cell_id].changes < max_changes]
        if not changeable:
            break
        for cell_id in changeable:
            cell = cells[cell_id]
            cell.changes += 1
            if action == "work_out":
                cell.is_worked_out = True
            elif action == "let_go":
                cell.is_let_go = True
            else:
                cell.is_hidden = cell.needs_protection = True
                cell.is_worked_out = False
                cell.protects_cell_id = protected
                if cell.is_published:
                    cell.reason = "protects"
        if action == "pick":
            # What the reader worked out may rest on the newly hidden cell: work-outs start over.
            for cell in cells.values():
                if cell.is_worked_out and cell.changes < max_changes:
                    cell.is_worked_out = False
                    cell.changes += 1
    return cells


def recoverable(cells: Mapping[str, Cell], constraints: list[Constraint]) -> list[str]:
    """Equations whose lone unknown needed protection: a count the reader can still work out."""
    view = reader_view(cells, constraints)
    return sorted(constraint_id for constraint_id, cell_id in view.lone.items()
                  if cells[cell_id].needs_protection)


def suppress(cells: Iterable[Mapping[str, Any]], memberships: Iterable[Mapping[str, Any]], min_cell_size: int,
             max_changes: int = 1000, relation: str = "the mart") -> list[Decision]:
    """Every cell's decision. `cells` rows have cell_id, n, is_published, is_headline and fixed_is_suppressed
    (null unless another mart decided); `memberships` rows have constraint_id, cell_id and is_total. Raises
    SuppressionError when a small count would stay recoverable."""
    cells, memberships = list(cells), list(memberships)
    constraints = group_constraints(memberships)
    results = {
        strategy: solve_strategy(start_cells(cells, min_cell_size), constraints, strategy, min_cell_size,
                                 max_changes)
        for strategy in STRATEGIES
    }
    best = min(STRATEGIES, key=lambda strategy: (
        sum(cell.is_hidden and cell.is_published for cell in results[strategy].values()), strategy))
    result = results[best]
    unresolved = recoverable(result, constraints)
    if unresolved:
        raise SuppressionError(f"cell suppression in {relation} left a small count recoverable from "
                               f"constraint {unresolved[0]}")
    return [Decision(cell.cell_id, cell.is_hidden and cell.is_published, cell.reason, cell.protects_cell_id)
            for cell in result.values()]
