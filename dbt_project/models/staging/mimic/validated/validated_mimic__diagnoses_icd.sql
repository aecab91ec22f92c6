-- Read where it is used rather than materialized once: a copy of every raw row, struct included, costs more than
-- scanning the table again.
with diagnoses as {{ not_materialized() }} (
    select * from {{ ref('base_mimic__diagnoses_icd') }}
),

raw_admission_ids as (
    select distinct hadm_id from {{ ref('base_mimic__admissions') }}
),

valid_admissions as (
    select hadm_id, subject_id
    from {{ ref('validated_mimic__admissions') }}
    where reject_reason is null
),

valid_codes as (
    select icd_code, icd_version
    from {{ ref('validated_mimic__d_icd_diagnoses') }}
    where reject_reason is null
),

-- The key is MIMIC-IV's primary key of diagnoses_icd, (hadm_id, seq_num, icd_code, icd_version). Rows sharing it
-- also share (hadm_id, seq_num): grouping every row by those two integers is much cheaper than by the whole key
-- with its code text, and leaves only a handful of positions to compare in full (macros/duplicate_keys.sql).
ranked_diagnoses as (
    {{ rank_duplicate_keys('diagnoses', raw_table('diagnoses_icd').key, shared_by=['hadm_id', 'seq_num']) }}
),

reasons_per_row as (
    select
        ranked_diagnoses.*,
        -- In order of precedence: reject_reason is the first that applies.
        {% call list_without_nulls() %}
            case when ranked_diagnoses.subject_id is null or ranked_diagnoses.hadm_id is null
                    or ranked_diagnoses.seq_num is null or ranked_diagnoses.icd_code is null
                    or ranked_diagnoses.icd_code = '' or ranked_diagnoses.icd_version is null
                then 'missing_required_value' end,
            case when ranked_diagnoses.key_row_number > 1 and ranked_diagnoses.key_rank = 1 then 'duplicate_row' end,
            case when ranked_diagnoses.key_rank > 1 then 'duplicate_key' end,
            case when ranked_diagnoses.hadm_id is not null and raw_admission_ids.hadm_id is null
                then 'orphan_hadm_id' end,
            case when raw_admission_ids.hadm_id is not null and valid_admissions.hadm_id is null
                then 'parent_admission_rejected' end,
            case when ranked_diagnoses.subject_id <> valid_admissions.subject_id then 'patient_mismatch' end,
            case when ranked_diagnoses.seq_num < 1 then 'invalid_seq_num' end,
            case when ranked_diagnoses.icd_version not in (9, 10) then 'invalid_icd_version' end,
            case when ranked_diagnoses.icd_version in (9, 10) and ranked_diagnoses.icd_code <> ''
                    and valid_codes.icd_code is null
                then 'unknown_icd_code' end
        {% endcall %} as reject_reasons
    from ranked_diagnoses
    left join raw_admission_ids
        on ranked_diagnoses.hadm_id = raw_admission_ids.hadm_id
    left join valid_admissions
        on ranked_diagnoses.hadm_id = valid_admissions.hadm_id
    left join valid_codes
        on ranked_diagnoses.icd_code = valid_codes.icd_code
        and ranked_diagnoses.icd_version = valid_codes.icd_version
)

select
    subject_id,
    hadm_id,
    seq_num,
    icd_code,
    icd_version,
    {{ list_element('reject_reasons', 1) }} as reject_reason,
    reject_reasons,
    case when {{ list_length('reject_reasons') }} > 0 then {{ row_json('raw_row') }} end as raw_row
from reasons_per_row
