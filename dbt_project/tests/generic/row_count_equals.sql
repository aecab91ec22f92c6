{#- Fails when the model does not have as many rows as compare_model (e.g. one row per patient of a mart). -#}
{% test row_count_equals(model, compare_model) %}
    with model_rows as (
        select count(*) as n_rows from {{ model }}
    ),

    compared_rows as (
        select count(*) as n_rows from {{ compare_model }}
    )

    select model_rows.n_rows as model_rows, compared_rows.n_rows as compared_rows
    from model_rows
    cross join compared_rows
    where model_rows.n_rows <> compared_rows.n_rows
{% endtest %}
