{#- Values of column_name and other_column pair one to one: no value of either appears with two values of the
    other (e.g. a segment id always carries the same name, and no two segment ids share a name). -#}
{% test one_to_one(model, column_name, other_column) %}
    with pairs as (
        select distinct {{ column_name }} as key_value, {{ other_column }} as other_value from {{ model }}
    ),

    keys_with_several_values as (
        select cast(key_value as {{ dbt.type_string() }}) as offending_value, count(*) as n_partners
        from pairs
        group by key_value
        having count(*) > 1
    ),

    values_with_several_keys as (
        select cast(other_value as {{ dbt.type_string() }}) as offending_value, count(*) as n_partners
        from pairs
        group by other_value
        having count(*) > 1
    )

    select * from keys_with_several_values
    union all
    select * from values_with_several_keys
{% endtest %}
