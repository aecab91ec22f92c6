{#- One row when the column's sum differs from `total` by more than `tolerance`. -#}
{% test sums_to(model, column_name, total=1, tolerance=0.000001) %}
    select sum({{ column_name }}) as column_sum
    from {{ model }}
    having abs(coalesce(sum({{ column_name }}), 0) - {{ total }}) > {{ tolerance }}
{% endtest %}
