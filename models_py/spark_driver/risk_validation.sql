-- Spark stand-in for the dbt Python model risk_validation (models_py/): the same model code ran on the Spark driver
-- (python -m spark_engine.python_models) and left its rows in spark_driver.risk_validation.
select * from {{ source('spark_driver', 'risk_validation') }}
