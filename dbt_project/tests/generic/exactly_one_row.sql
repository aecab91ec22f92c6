{#- Exactly one row in the model (combine with a `where` config to test e.g. a single selected row). -#}
{% test exactly_one_row(model) %}
    select count(*) as n_rows
    from {{ model }}
    having count(*) <> 1
{% endtest %}
