{#- Values of `to`.`field` that never occur in the tested column: a patient, condition or tier that a
    patient-level table or a lookup seed left out. -#}
{% test contains_all_values_of(model, column_name, to, field) %}
    select distinct expected.{{ field }} as missing_value
    from {{ to }} as expected
    where expected.{{ field }} is not null
      and expected.{{ field }} not in (
          select tested.{{ column_name }} from {{ model }} as tested where tested.{{ column_name }} is not null
      )
{% endtest %}
