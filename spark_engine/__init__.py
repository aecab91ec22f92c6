"""The project on Apache Spark (docs/spark.md): the steps of `make run ENGINE=spark` that are not dbt's.

raw_tables copies the raw MIMIC-IV tables (and synthetic_truth) from the DuckDB file the generator or the
loader wrote into Spark; run_dbt runs dbt on the target's session with the project's SQL functions (udfs:
suppress_cells()); python_models runs the dbt Python models' code (clustering, risk validation) on the Spark
driver, except patient_segments, which segments assigns inside the engine; bi_tables copies a finished
build's BI marts back into the DuckDB file, with the build's record in its log (build_log), for the export
and the report; parity compares a Spark build with a DuckDB build of the same raw tables. All open the same
Spark session as dbt's `spark` target (session.py reads it from profiles.yml).
"""
