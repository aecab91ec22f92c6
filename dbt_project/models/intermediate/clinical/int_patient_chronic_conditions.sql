{#- The families are the contract's has_<family> columns of patient_features; seed chronic_conditions assigns
    each condition to one of them (a data test on the seed keeps the two in step). -#}
{%- set condition_families = [
    'cardiometabolic', 'cardiovascular', 'respiratory', 'renal', 'behavioral_health', 'neurological', 'cancer',
    'liver',
] -%}

with patients as (
    select subject_id from {{ ref('stg_mimic__patients') }}
),

patient_conditions as (
    select distinct subject_id, condition, condition_family from {{ ref('int_admission_conditions') }}
)

select
    patients.subject_id,
    count(patient_conditions.condition)::integer as n_chronic_conditions,
    count(distinct patient_conditions.condition_family)::integer as n_chronic_families,
    count(patient_conditions.condition) > 0 as has_chronic_condition,
    {%- for family in condition_families %}
    coalesce(bool_or(patient_conditions.condition_family = '{{ family }}'), false)
        as has_{{ family }}{{ ',' if not loop.last }}
    {%- endfor %}
from patients
left join patient_conditions
    on patients.subject_id = patient_conditions.subject_id
group by patients.subject_id
