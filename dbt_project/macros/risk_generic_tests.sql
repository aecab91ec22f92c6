{#- Generic data tests used by the risk models and seeds. -#}

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


{#- One row when the column's sum differs from `total` by more than `tolerance`. -#}
{% test sums_to(model, column_name, total=1, tolerance=0.000001) %}
    select sum({{ column_name }}) as column_sum
    from {{ model }}
    having abs(coalesce(sum({{ column_name }}), 0) - {{ total }}) > {{ tolerance }}
{% endtest %}
