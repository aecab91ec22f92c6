-- Spark stand-in for the dbt Python model segment_centroids (models_py/): the same model code ran on the Spark driver
-- (python -m spark_engine.python_models) and left its rows in spark_driver.segment_centroids.
select * from {{ source('spark_driver', 'segment_centroids') }}
