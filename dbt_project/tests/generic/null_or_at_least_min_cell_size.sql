{#- Small-cell rule of schema bi: rows where a count is shown although it is below var('min_cell_size').
    A count is either suppressed (NULL) or at least the threshold; zero is a small count too. -#}
{% test null_or_at_least_min_cell_size(model, column_name) %}
    select {{ column_name }} as small_count
    from {{ model }}
    where {{ column_name }} is not null
      and {{ column_name }} < {{ bi_min_cell_size() }}
{% endtest %}
