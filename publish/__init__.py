"""Export of the BI marts after a successful build: `python -m publish --db WAREHOUSE --out exports`.

BI tools never open the warehouse, so they neither block nor are blocked by a running `dbt build`. Each export
writes every table of schema bi to exports/builds/<export id>/<table>.parquet, then a new read-only DuckDB
file of views over them, exports/bi.duckdb, and finally points the link exports/current at the new folder.
The DuckDB file and the link are swapped atomically (rename), so a reader always sees one complete build; the
previous build stays on disk until the next export succeeds, for readers still on it.
"""
