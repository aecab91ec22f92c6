{#- The dbt vars of the BI marts, each checked where it is read so that a bad value fails the build with a
    message naming the var. -#}

{#- The suppression threshold of schema bi: a whole number of at least 1. -#}
{% macro bi_min_cell_size() %}
    {{ return(bi_number_var('min_cell_size', minimum=1, whole=true)) }}
{% endmacro %}


{#- A numeric dbt var, or a compile error naming the var when it is not a number >= minimum. -#}
{% macro bi_number_var(name, minimum=0, whole=false) %}
    {%- set value = var(name) -%}
    {%- if value is boolean or value is not number or value < minimum or (whole and value | int != value) -%}
        {{ exceptions.raise_compiler_error(
            "dbt var " ~ name ~ ": expected " ~ ("a whole number" if whole else "a number") ~ " >= " ~ minimum
            ~ ", got " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}


{#- SQL literal of the local unit cost replacing seed unit_costs' figure for `cost_item` (dbt var
    unit_cost_<cost_item>_usd), or null to keep the published figure. -#}
{% macro unit_cost_override(cost_item) %}
    {%- set name = 'unit_cost_' ~ cost_item ~ '_usd' -%}
    {%- if var(name, none) is none -%}
        {{ return('null') }}
    {%- endif -%}
    {{ return(bi_number_var(name, minimum=0) | string) }}
{% endmacro %}
