with patients as (
    select subject_id from {{ ref('stg_mimic__patients') }}
),

patient_billed_codes as (
    select distinct subject_id, icd_code, icd_version from {{ ref('stg_mimic__diagnoses_icd') }}
),

patient_code_counts as (
    select subject_id, count(*) as n_unique_icd_codes
    from patient_billed_codes
    group by subject_id
)

select
    patients.subject_id,
    coalesce(patient_code_counts.n_unique_icd_codes, 0)::integer as n_unique_icd_codes
from patients
left join patient_code_counts
    on patients.subject_id = patient_code_counts.subject_id
