"""The SQL linter of `make lint` (sqlfluff, config in .sqlfluff): it catches the house style's faults, and
every model templates and parses (no model may excuse itself from that; make lint fails on a file it cannot
read).
"""

from __future__ import annotations

import re

import pytest
import sqlfluff.core as sqlfluff_core
from conftest import REPO_ROOT

# sqlfluff reads .sqlfluffignore with a pathspec pattern class that pathspec now calls deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:GitIgnorePattern:DeprecationWarning")

MODELS = REPO_ROOT / "dbt_project" / "models"

# One fault of each kind the house style forbids, in a model that otherwise renders and parses.
BAD_SQL = (
    "SELECT a.subject_id, hadm_id, COUNT(1) AS n_rows\n"
    "FROM {{ ref('stg_mimic__admissions') }} a\n"
    "JOIN {{ ref('stg_mimic__icustays') }} AS unused_stays ON a.hadm_id = a.hadm_id   \n"
    "WHERE a.admission_type != 'ELECTIVE'\n"
    "group by a.subject_id, hadm_id\n"
    "order by n_rows desc, a.subject_id\n"
    "-- " + "x" * 122
)
EXPECTED = {
    "CP01": "upper-case keyword",
    "CP03": "upper-case function",
    "AL01": "implicit table alias",
    "AM05": "bare `join`",
    "RF02": "unqualified column in a join",
    "AL05": "unused alias",
    "LT01": "trailing whitespace",
    "CV01": "`!=` for `<>`",
    "CV04": "count(1)",
    "AM03": "order by half ascending",
    "LT05": "line over 120 characters",
    "LT12": "no final newline",
}


def project_config(**overrides: str) -> sqlfluff_core.FluffConfig:
    """The project's .sqlfluff (its paths are read relative to the file)."""
    return sqlfluff_core.FluffConfig.from_path(str(REPO_ROOT), overrides=overrides or None)


def test_the_linter_catches_style_faults() -> None:
    result = sqlfluff_core.Linter(config=project_config()).lint_string(BAD_SQL, fname=str(MODELS / "bad.sql"))
    codes = {violation.rule_code() for violation in result.violations}
    missing = {code: why for code, why in EXPECTED.items() if code not in codes}
    assert not missing, f"the linter missed {missing}; it found {sorted(codes)}"
    unread = [v.desc() for v in result.violations if v.rule_code() in ("TMP", "PRS")]
    assert not unread, unread


def test_no_model_excuses_parse_errors() -> None:
    excused = [f"{path.relative_to(REPO_ROOT)}:{number}"
               for path in sorted(MODELS.rglob("*.sql"))
               for number, line in enumerate(path.read_text().splitlines(), start=1)
               if re.search(r"noqa:\s*(disable=)?[^\n]*\b(PRS|TMP)\b", line)]
    assert not excused, f"every model must template and parse; excused at {excused}"
