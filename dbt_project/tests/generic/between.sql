{#- Rows whose value lies outside [min_value, max_value] (inclusive; either bound may be omitted).
    NULLs pass: pair with not_null where a value is required. -#}
{% test between(model, column_name, min_value=none, max_value=none) %}
    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error("between test on " ~ model ~ "." ~ column_name ~ ": give min_value, max_value or both") }}
    {%- endif %}
    select {{ column_name }} as out_of_range_value
    from {{ model }}
    where {{ column_name }} is not null
      and (
        false
        {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
        {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
      )
{% endtest %}
