{#- Small-cell rule of schema bi: rows where a count is shown although it is from 1 to var('min_cell_size') - 1.
    A count is either suppressed (NULL), zero (an empty group, which points at no one) or at least the
    threshold. -#}
{% test null_or_at_least_min_cell_size(model, column_name) %}
    select {{ column_name }} as small_count
    from {{ model }}
    where {{ column_name }} between 1 and {{ bi_min_cell_size() - 1 }}
{% endtest %}
