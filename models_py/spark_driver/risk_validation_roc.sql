-- Spark stand-in for the dbt Python model risk_validation_roc (models_py/): the same model code ran on the Spark driver
-- (python -m spark_engine.python_models) and left its rows in spark_driver.risk_validation_roc.
select * from {{ source('spark_driver', 'risk_validation_roc') }}
