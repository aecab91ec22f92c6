"""Reading and checking one PhysioNet CSV file against its raw-table contract.

A file is checked in three steps, each failing with a `LoadError` that names the file and, where there is
one, the line and column:

1. the header line, read directly, must list exactly the contract's columns in the contract's order;
2. DuckDB's CSV reader reads every field as text into a temporary staging table, recording malformed rows
   (wrong field count, bad quoting, invalid UTF-8) in a rejects table instead of guessing;
3. every staged value is checked against its column's type with strict patterns, because DuckDB's own casts
   are lenient ('1.5' becomes the integer 2, ' 7 ' becomes 7, '0x10' becomes 16).

Only when all three pass does `cast_select_sql` turn the staged text into the typed columns.

Line numbers are the file's own lines, as an editor shows them: the header is line 1, blank lines count, and
a record whose quoted field holds a line break is named by the line it starts on.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from generator.schema import Column, RawTable

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
# strptime alone tolerates surrounding blanks and one-digit fields; the patterns pin MIMIC's exact layout.
DATE_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
TIMESTAMP_PATTERN = DATE_PATTERN + " [0-9]{2}:[0-9]{2}:[0-9]{2}"
INTEGER_PATTERN = "-?[0-9]+"
DOUBLE_PATTERN = "-?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?"
INTEGER_RANGES = {"integer": "-2147483648 to 2147483647", "smallint": "-32768 to 32767"}
# Beyond this many malformed rows DuckDB stops recording them; one is enough to stop the load.
REJECTS_LIMIT = 1000
COLUMN_COUNT_ERRORS = {
    "TOO MANY COLUMNS": "more fields than the header's {n} columns (a comma in a value without quotes?)",
    "MISSING COLUMNS": "fewer fields than the header's {n} columns",
}
ROW_ERRORS = {
    "INVALID ENCODING": "not valid UTF-8 (MIMIC-IV files are UTF-8; save the file as UTF-8)",
    "UNQUOTED VALUE": "a quoted value that is never closed, or has text after its closing quote",
}
CR_ONLY_PROBLEM = ("the line ends in a carriage return alone (old Mac line endings); save the file with "
                   "LF or CRLF line endings")
_BARE_CR = re.compile(rb"\r(?!\n)")
CHUNK_BYTES = 1 << 20
_TYPE_PATTERN = re.compile(r"(?P<base>[a-z]+)(?:\((?P<length>\d+)\))?")


class LoadError(Exception):
    """Input data that cannot be loaded as given; the message is meant for the user as is."""


@dataclass(frozen=True)
class ColumnCheck:
    """How one contract column is validated in text form and then cast to its type."""

    valid_sql: str
    cast_sql: str
    problem: str


@dataclass(frozen=True)
class StagedFile:
    table: RawTable
    label: str
    staging_name: str
    rows: int
    # The file as read, for the load's record in pipeline_log.raw_loads.
    size_bytes: int
    sha256: str


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def error_reason(message: str) -> str:
    """The first line of a DuckDB message without its class prefix ('IO Error: ...')."""
    return re.sub(r"^[A-Za-z ]+Error: ", "", message.strip()).splitlines()[0]


def find_source(mimic_dir: Path, table: RawTable) -> tuple[Path, str]:
    """The table's file in PhysioNet's layout (.csv.gz or plain .csv) and its path relative to `mimic_dir`."""
    candidates = [mimic_dir / f"{table.file_stem}{suffix}" for suffix in (".csv.gz", ".csv")]
    present = [path for path in candidates if path.is_file()]
    gz_label, csv_label = (path.relative_to(mimic_dir).as_posix() for path in candidates)
    if not present:
        raise LoadError(f"{gz_label} not found in {mimic_dir} (expected {gz_label} or {csv_label})")
    if len(present) > 1:
        raise LoadError(f"both {gz_label} and {csv_label} exist in {mimic_dir}: keep only one of them")
    return present[0], present[0].relative_to(mimic_dir).as_posix()


def open_binary(path: Path) -> io.BufferedIOBase:
    """The file's uncompressed bytes (.gz files are decompressed)."""
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115


def read_header(path: Path, label: str) -> list[str]:
    """The field names of the first line, after an optional UTF-8 byte order mark."""
    try:
        with open_binary(path) as stream:
            first_line = stream.readline()
    except (OSError, EOFError) as error:
        raise LoadError(f"{label} cannot be read: {error}") from error
    if not first_line.strip(b"\r\n"):
        raise LoadError(f"{label} line 1: no header line (the file is empty or starts with a blank line)")
    if b"\r" in first_line.removesuffix(b"\n").removesuffix(b"\r"):
        raise LoadError(f"{label} line 1: {CR_ONLY_PROBLEM}")
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LoadError(f"{label} line 1: the header is not valid UTF-8 ({error.reason})") from error
    return next(csv.reader([text.rstrip("\r\n")]))


def header_problem(found: list[str], expected: list[str]) -> str | None:
    """Why `found` is not the contract's header, or None when it is."""
    if found == expected:
        return None
    separators = {";": "semicolons", "\t": "tabs", "|": "pipes"}
    if len(found) == 1 and len(expected) > 1:
        used = [name for separator, name in separators.items() if separator in found[0]]
        if used:
            return f"the header is separated by {used[0]}; MIMIC-IV files are comma-separated"
    missing = [name for name in expected if name not in found]
    extra = [name for name in found if name not in expected]
    if len(missing) == 1 and len(extra) == 1:
        return f"column {missing[0]} is missing and {extra[0]!r} is not a MIMIC-IV column (renamed?)"
    parts = []
    if missing:
        parts.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if extra:
        parts.append(f"unexpected column{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}")
    if not parts:
        parts.append("the columns are out of order or repeated")
    return "; ".join(parts) + f" (expected header: {','.join(expected)})"


def check_header(path: Path, label: str, table: RawTable) -> None:
    problem = header_problem(read_header(path, label), table.column_names)
    if problem:
        raise LoadError(f"{label} line 1: {problem}")


def column_check(column: Column) -> ColumnCheck:
    """Strict text pattern and cast for the column's declared type."""
    match = _TYPE_PATTERN.fullmatch(column.sql_type.lower())
    if match is None:
        raise ValueError(f"unsupported column type {column.sql_type!r} for {column.name}")
    base, length = match["base"], match["length"]
    value = quote_identifier(column.name)
    if base in INTEGER_RANGES:
        return ColumnCheck(
            valid_sql=(f"regexp_full_match({value}, '{INTEGER_PATTERN}')"
                       f" and try_cast({value} as {base}) is not null"),
            cast_sql=f"cast({value} as {base})",
            problem=f"is not a whole number from {INTEGER_RANGES[base]} ({base})",
        )
    if base == "double":
        return ColumnCheck(valid_sql=f"regexp_full_match({value}, '{DOUBLE_PATTERN}')",
                           cast_sql=f"cast({value} as double)", problem="is not a number")
    if base == "timestamp":
        return ColumnCheck(
            valid_sql=(f"regexp_full_match({value}, '{TIMESTAMP_PATTERN}')"
                       f" and try_strptime({value}, '{TIMESTAMP_FORMAT}') is not null"),
            cast_sql=f"strptime({value}, '{TIMESTAMP_FORMAT}')",
            problem="is not a timestamp (expected YYYY-MM-DD HH:MM:SS)",
        )
    if base == "date":
        return ColumnCheck(
            valid_sql=(f"regexp_full_match({value}, '{DATE_PATTERN}')"
                       f" and try_strptime({value}, '{DATE_FORMAT}') is not null"),
            cast_sql=f"cast(strptime({value}, '{DATE_FORMAT}') as date)",
            problem="is not a date (expected YYYY-MM-DD)",
        )
    # A NUL byte is no character of any text: it is kept out of text columns, where it would load silently
    # and cut the value short in tools written in C.
    no_nul = f"strpos({value}, chr(0)) = 0"
    if base == "varchar" and length is not None:
        plural = "" if length == "1" else "s"
        return ColumnCheck(valid_sql=f"{no_nul} and length({value}) <= {length}", cast_sql=value,
                           problem=f"is longer than {length} character{plural} ({column.sql_type})")
    if base == "varchar":
        return ColumnCheck(valid_sql=no_nul, cast_sql=value, problem="")
    raise ValueError(f"unsupported column type {column.sql_type!r} for {column.name}")


def valid_condition(column: Column) -> str:
    """SQL condition that holds when the staged text of `column` may be loaded (NULL included)."""
    value = quote_identifier(column.name)
    check = column_check(column).valid_sql
    if column.not_null:
        return f"{value} is not null and ({check})"
    return f"{value} is null or ({check})"


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, label: str, table: RawTable) -> StagedFile:
    """Check the header, read every field as text into a temporary table, then check every value."""
    check_header(path, label, table)
    staging_name = f"staged_{table.schema}__{table.name}"
    rejects = f"{staging_name}__rejects"
    text_columns = ", ".join(f"{sql_literal(name)}: 'varchar'" for name in table.column_names)
    try:
        con.execute(f"""
            create or replace temp table {staging_name} as
            select * from read_csv(
                {sql_literal(str(path))}, columns = {{{text_columns}}}, header = true, auto_detect = false,
                delim = ',', quote = '"', escape = '"', store_rejects = true,
                rejects_table = '{rejects}', rejects_scan = '{staging_name}__reject_scans',
                rejects_limit = {REJECTS_LIMIT})
        """)
    except duckdb.Error as error:
        cr_line = bare_cr_line(path)
        if cr_line is not None:
            raise LoadError(f"{label} line {cr_line}: {CR_ONLY_PROBLEM}") from error
        raise LoadError(f"{label} cannot be read: {error_reason(str(error))}") from error
    raise_for_rejects(con, rejects, label, len(table.columns))
    raise_for_invalid_values(con, staging_name, path, label, table)
    rows = con.execute(f"select count(*) from {staging_name}").fetchone()[0]
    size, digest = file_digest(path)
    return StagedFile(table=table, label=label, staging_name=staging_name, rows=rows, size_bytes=size,
                      sha256=digest)


def file_digest(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of the file as stored (compressed, for .gz)."""
    with open(path, "rb") as stream:
        digest = hashlib.file_digest(stream, "sha256")
    return path.stat().st_size, digest.hexdigest()


def bare_cr_line(path: Path) -> int | None:
    """The line of the first carriage return not followed by a line feed, or None. Only on the way to an
    error: DuckDB's reader stops on such files without saying where."""
    lines_before = 0
    carry = b""
    try:
        with open_binary(path) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                # A chunk ending in CR is held back until the next byte shows whether LF follows.
                data = carry + chunk
                data, carry = (data[:-1], data[-1:]) if data.endswith(b"\r") else (data, b"")
                match = _BARE_CR.search(data)
                if match is not None:
                    return lines_before + data.count(b"\n", 0, match.start()) + 1
                lines_before += data.count(b"\n")
    except (OSError, EOFError):
        return None
    return lines_before + 1 if carry else None


def record_line(path: Path, record: int) -> int:
    """The file line on which data record `record` (1 = the first after the header) starts. DuckDB skips
    blank lines and lets a quoted field span lines, so the record number alone is not the line."""
    # DuckDB read the values; Python's reader only counts lines, so no value may be too long for it.
    csv.field_size_limit(2**31 - 1)
    with open_binary(path) as binary, io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        next(reader)
        line_before = reader.line_num
        seen = 0
        for row in reader:
            if row:
                seen += 1
                if seen == record:
                    return line_before + 1
            line_before = reader.line_num
    raise ValueError(f"{path} has fewer than {record} records")


def raise_for_rejects(con: duckdb.DuckDBPyConnection, rejects: str, label: str, n_columns: int) -> None:
    """Stop at the first row DuckDB's reader could not split into the header's fields."""
    first = con.execute(f"""
        select line, column_name, error_type, error_message
        from {rejects}
        order by line, column_idx
        limit 1
    """).fetchone()
    if first is None:
        return
    line, column_name, error_type, error_message = first
    if error_type in COLUMN_COUNT_ERRORS:
        raise LoadError(f"{label} line {line}: {COLUMN_COUNT_ERRORS[error_type].format(n=n_columns)}")
    where = f", column {column_name}" if column_name else ""
    raise LoadError(f"{label} line {line}{where}: {ROW_ERRORS.get(error_type, error_message)}")


def raise_for_invalid_values(con: duckdb.DuckDBPyConnection, staging_name: str, path: Path, label: str,
                             table: RawTable) -> None:
    """Stop at the first value, in file order, that is missing where required or does not fit its type."""
    conditions = [valid_condition(column) for column in table.columns]
    any_invalid = " or ".join(f"not ({condition})" for condition in conditions)
    if not con.execute(f"select exists (select 1 from {staging_name} where {any_invalid})").fetchone()[0]:
        return
    # Only here, on the way to an error, are rows numbered: it costs a pass over the table in file order.
    columns = ", ".join(quote_identifier(name) for name in table.column_names)
    record, invalid, values = con.execute(f"""
        select record, [{", ".join(f"not ({condition})" for condition in conditions)}], [{columns}]
        from (select row_number() over () as record, * from {staging_name})
        where {any_invalid}
        order by record
        limit 1
    """).fetchone()
    index = invalid.index(True)
    column, value = table.columns[index], values[index]
    if value is None:
        problem = "is empty but required"
    elif "\x00" in value:
        problem = f"{value!r} holds a NUL byte (\\x00), which is not text; remove it from the file"
    else:
        problem = f"{value!r} {column_check(column).problem}"
    raise LoadError(f"{label} line {record_line(path, record)}, column {column.name}: {problem}")


def cast_select_sql(staged: StagedFile) -> str:
    """SELECT turning the staged text into the contract's typed columns, in contract order."""
    casts = ", ".join(f"{column_check(column).cast_sql} as {quote_identifier(column.name)}"
                      for column in staged.table.columns)
    return f"select {casts} from {staged.staging_name}"
