with patients as (
    select subject_id, dod from {{ ref('stg_mimic__patients') }}
),

patient_admissions as (
    select
        subject_id,
        max(dischtime) as last_dischtime,
        bool_or(hospital_expire_flag = 1) as died_in_hospital
    from {{ ref('int_admissions_enriched') }}
    group by subject_id
)

select
    patients.subject_id,
    patients.dod,
    patient_admissions.last_dischtime,
    coalesce(patient_admissions.died_in_hospital, false) as died_in_hospital,
    -- MIMIC-IV records deaths up to a year after the last discharge; a patient without one is taken as living at
    -- the end of their follow-up. The deceased are kept for outcome analysis, never offered care management.
    patients.dod is not null or coalesce(patient_admissions.died_in_hospital, false) as is_deceased,
    -- A death dated before the discharge date (an in-hospital death) is within the year as well.
    coalesce(
        {{ dbt.datediff('patient_admissions.last_dischtime::date', 'patients.dod', 'day') }} <= 365,
        false
    ) as died_within_1y
from patients
left join patient_admissions
    on patients.subject_id = patient_admissions.subject_id
