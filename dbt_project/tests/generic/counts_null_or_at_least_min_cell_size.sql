{#- Small-cell rule of schema bi: rows where a count is shown although it is from 1 to var('min_cell_size') - 1.
    A count is either suppressed (NULL), zero (an empty group, which points at no one) or at least the
    threshold. The counts are the mart's columns named n_*, read from the table itself, so that a count added
    to a mart is checked without a line of YAML; a mart that carries the test without any count is an error. -#}
{% test counts_null_or_at_least_min_cell_size(model) %}
    {%- set counts = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(model) if column.name.lower().startswith('n_') -%}
            {%- do counts.append(column.name) -%}
        {%- endfor -%}
        {%- if not counts -%}
            {{ exceptions.raise_compiler_error("counts_null_or_at_least_min_cell_size on " ~ model
                                               ~ ": the table has no count column (n_*)") }}
        {%- endif -%}
    {%- endif -%}
    {%- for column in counts %}
    select '{{ column }}' as column_name, {{ column }} as small_count
    from {{ model }}
    where {{ column }} between 1 and {{ bi_min_cell_size() - 1 }}
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {%- else %}
    select null as column_name, null as small_count
    {%- endfor %}
{% endtest %}
