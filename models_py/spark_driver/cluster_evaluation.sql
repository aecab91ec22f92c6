-- Spark stand-in for the dbt Python model cluster_evaluation (models_py/): the same model code ran on the Spark driver
-- (python -m spark_engine.python_models) and left its rows in spark_driver.cluster_evaluation.
select * from {{ source('spark_driver', 'cluster_evaluation') }}
