with admission_conditions as (
    select subject_id, hadm_id, condition, condition_family, is_principal_diagnosis
    from {{ ref('int_admission_conditions') }}
),

admissions as (
    select hadm_id, admittime from {{ ref('int_admissions_enriched') }}
),

condition_catalog as (
    select condition, label from {{ ref('chronic_conditions') }}
)

select
    admission_conditions.subject_id,
    admission_conditions.condition,
    admission_conditions.condition_family,
    condition_catalog.label as condition_label,
    count(*)::integer as n_admissions_with_condition,
    count(*) filter (where admission_conditions.is_principal_diagnosis)::integer as n_admissions_as_principal,
    min(admissions.admittime) as first_admittime,
    max(admissions.admittime) as last_admittime
from admission_conditions
left join admissions
    on admission_conditions.hadm_id = admissions.hadm_id
left join condition_catalog
    on admission_conditions.condition = condition_catalog.condition
group by
    admission_conditions.subject_id,
    admission_conditions.condition,
    admission_conditions.condition_family,
    condition_catalog.label
