{#- Rows for which a boolean SQL expression over the model's columns is false or NULL. -#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}
