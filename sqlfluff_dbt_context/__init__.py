"""dbt's Jinja context, enough for sqlfluff's jinja templater to render every model without dbt.

.sqlfluff names this package as the templater's library_path: each public name here becomes a Jinja global,
ahead of sqlfluff's own dbt builtins. var() returns the defaults declared in dbt_project.yml (so loops over
list vars and the macros' checks of numeric vars render as in a default build); whatever needs a warehouse
or a running dbt (execute, run_query, adapter) says there is none, as dbt does while parsing.
"""

from __future__ import annotations

import datetime as _datetime
from pathlib import Path
from types import SimpleNamespace

import yaml
from jinja2 import pass_context

_PROJECT_FILE = Path(__file__).resolve().parent.parent / "dbt_project.yml"
_VARS: dict = yaml.safe_load(_PROJECT_FILE.read_text()).get("vars", {})


def var(name: str, default: object = None) -> object:
    """dbt's var(): the project's declared value, else the default."""
    return _VARS.get(name, default)


def _no_op(*args: object, **kwargs: object) -> str:
    return ""


def _no_result(*args: object, **kwargs: object) -> None:
    return None


# No warehouse: dbt's parse phase, where execute is false and no query runs.
execute = False
run_query = _no_result
load_relation = _no_result
log = _no_op
# A failed check of a var would stop dbt; the linter only needs the SQL around it.
exceptions = SimpleNamespace(raise_compiler_error=_no_op, warn=_no_op)


@pass_context
def _dispatch(context: object, macro_name: str, macro_namespace: str | None = None) -> object:
    """adapter.dispatch() as on DuckDB: the project's duckdb__ implementation, else its default__."""
    for prefix in ("duckdb__", "default__"):
        found = context.get(prefix + macro_name)  # type: ignore[attr-defined]
        if found is not None:
            return found
    raise LookupError(f"no duckdb__ or default__ implementation of {macro_name} among the project's macros")


adapter = SimpleNamespace(get_relation=_no_result, commit=_no_op, dispatch=_dispatch)
invocation_id = "00000000-0000-0000-0000-000000000000"
invocation_args_dict: dict = {}
run_started_at = _datetime.datetime(2000, 1, 1)
dbt_version = "1.11.0"
target = SimpleNamespace(name="dev", type="duckdb", database="warehouse", schema="main")
flags = SimpleNamespace(WHICH="compile")
graph = SimpleNamespace(nodes={})
modules = SimpleNamespace(datetime=_datetime)


_SEEDS = _PROJECT_FILE.parent / "seeds"


def seed_values_from_csv(seed_name: str, column: str, order_by: str | None = None) -> list:
    """The project's seed_values() macro reads a loaded seed while dbt compiles; here, the seed's CSV file."""
    import csv

    with (_SEEDS / f"{seed_name}.csv").open(newline="") as seed_file:
        rows = list(csv.DictReader(seed_file))
    key = order_by or column
    rows.sort(key=lambda row: float(row[key]) if row[key].replace(".", "", 1).isdigit() else row[key])
    return [row[column] for row in rows]


def _type_string() -> str:
    return "varchar"


def _datediff(first_date: str, second_date: str, datepart: str) -> str:
    """dbt-duckdb's rendering of dbt.datediff() for the parts the project uses."""
    return f"(date_diff('{datepart}', {first_date}::timestamp, {second_date}::timestamp))"


# dbt's cross-database macros the models call, as dbt-duckdb renders them.
dbt = SimpleNamespace(type_string=_type_string, datediff=_datediff)
