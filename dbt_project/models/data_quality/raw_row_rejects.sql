with patient_rejects as (
    select
        'mimiciv_hosp.patients' as source_table,
        subject_id,
        null::integer as hadm_id,
        null::integer as stay_id,
        'subject_id=' || coalesce(subject_id::{{ dbt.type_string() }}, 'NULL') as row_key,
        reject_reason,
        reject_reasons,
        raw_row
    from {{ ref('validated_mimic__patients') }}
    where reject_reason is not null
),

admission_rejects as (
    select
        'mimiciv_hosp.admissions' as source_table,
        subject_id,
        hadm_id,
        null::integer as stay_id,
        'hadm_id=' || coalesce(hadm_id::{{ dbt.type_string() }}, 'NULL') as row_key,
        reject_reason,
        reject_reasons,
        raw_row
    from {{ ref('validated_mimic__admissions') }}
    where reject_reason is not null
),

diagnosis_rejects as (
    select
        'mimiciv_hosp.diagnoses_icd' as source_table,
        subject_id,
        hadm_id,
        null::integer as stay_id,
        'hadm_id=' || coalesce(hadm_id::{{ dbt.type_string() }}, 'NULL')
        || ', seq_num=' || coalesce(seq_num::{{ dbt.type_string() }}, 'NULL')
        || ', icd_code=' || coalesce(icd_code, 'NULL')
        || ', icd_version=' || coalesce(icd_version::{{ dbt.type_string() }}, 'NULL') as row_key,
        reject_reason,
        reject_reasons,
        raw_row
    from {{ ref('validated_mimic__diagnoses_icd') }}
    where reject_reason is not null
),

dictionary_rejects as (
    select
        'mimiciv_hosp.d_icd_diagnoses' as source_table,
        null::integer as subject_id,
        null::integer as hadm_id,
        null::integer as stay_id,
        'icd_code=' || coalesce(icd_code, 'NULL')
        || ', icd_version=' || coalesce(icd_version::{{ dbt.type_string() }}, 'NULL') as row_key,
        reject_reason,
        reject_reasons,
        raw_row
    from {{ ref('validated_mimic__d_icd_diagnoses') }}
    where reject_reason is not null
),

icu_stay_rejects as (
    select
        'mimiciv_icu.icustays' as source_table,
        subject_id,
        hadm_id,
        stay_id,
        'stay_id=' || coalesce(stay_id::{{ dbt.type_string() }}, 'NULL') as row_key,
        reject_reason,
        reject_reasons,
        raw_row
    from {{ ref('validated_mimic__icustays') }}
    where reject_reason is not null
)

select * from patient_rejects
union all
select * from admission_rejects
union all
select * from diagnosis_rejects
union all
select * from dictionary_rejects
union all
select * from icu_stay_rejects
