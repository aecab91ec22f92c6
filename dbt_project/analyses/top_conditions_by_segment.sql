{#- Ad-hoc: the ten most common chronic conditions of each segment, with how many of the segment's patients
    have them. Reads patient-level marts (restricted): counts are not suppressed, keep the result internal.
    Narrow to one segment with --vars '{analysis_segment_name: "<segment>"}'. -#}
{%- set segment_name = var('analysis_segment_name', none) -%}

with patients as (
    select subject_id, segment_name from {{ ref('patient_summary') }}
    {%- if segment_name is not none %}
    where segment_name = '{{ segment_name | replace("'", "''") }}'
    {%- endif %}
),

segment_sizes as (
    select segment_name, count(*) as n_patients from patients
    group by segment_name
),

condition_counts as (
    select patients.segment_name, conditions.condition_label, count(*) as n_patients_with_condition
    from patients
    inner join {{ ref('patient_conditions') }} as conditions
        on patients.subject_id = conditions.subject_id
    group by patients.segment_name, conditions.condition_label
)

select
    condition_counts.segment_name,
    row_number() over (
        partition by condition_counts.segment_name
        order by condition_counts.n_patients_with_condition desc, condition_counts.condition_label asc
    ) as condition_rank,
    condition_counts.condition_label,
    condition_counts.n_patients_with_condition,
    condition_counts.n_patients_with_condition / segment_sizes.n_patients as share_of_segment
from condition_counts
inner join segment_sizes
    on condition_counts.segment_name = segment_sizes.segment_name
qualify condition_rank <= 10
order by condition_counts.segment_name, condition_rank
