-- Spark stand-in for the dbt Python model patient_segments (models_py/): the same model code ran on the Spark driver
-- (python -m spark_engine.python_models) and left its rows in spark_driver.patient_segments.
select * from {{ source('spark_driver', 'patient_segments') }}
