{#- The reverse of accepted_values: each listed value must occur in the column at least once. -#}
{% test values_present(model, column_name, values) %}
    with expected as (
        {%- for value in values %}
        select {{ "'" ~ (value | string | replace("'", "''")) ~ "'" }} as expected_value
        {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
    ),

    present as (
        select distinct cast({{ column_name }} as {{ dbt.type_string() }}) as present_value from {{ model }}
    )

    select expected.expected_value as missing_value
    from expected
    left join present
        on expected.expected_value = present.present_value
    where present.present_value is null
{% endtest %}
