-- Diagnoses and ICU stays are attributed to patients through hadm_id in some models and through their own
-- subject_id in others; the two must agree, or per-patient counts would depend on the path taken.
with admissions as (
    select hadm_id, subject_id from {{ ref('stg_mimic__admissions') }}
),

diagnosis_mismatches as (
    select
        'stg_mimic__diagnoses_icd' as model_name,
        diagnoses.hadm_id,
        diagnoses.subject_id,
        admissions.subject_id as admission_subject_id
    from {{ ref('stg_mimic__diagnoses_icd') }} as diagnoses
    inner join admissions
        on diagnoses.hadm_id = admissions.hadm_id
    where diagnoses.subject_id is distinct from admissions.subject_id
),

icu_stay_mismatches as (
    select
        'stg_mimic__icustays' as model_name,
        icu_stays.hadm_id,
        icu_stays.subject_id,
        admissions.subject_id as admission_subject_id
    from {{ ref('stg_mimic__icustays') }} as icu_stays
    inner join admissions
        on icu_stays.hadm_id = admissions.hadm_id
    where icu_stays.subject_id is distinct from admissions.subject_id
)

select * from diagnosis_mismatches
union all
select * from icu_stay_mismatches
