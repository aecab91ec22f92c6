with dictionary_entries as (
    select * from {{ ref('base_mimic__d_icd_diagnoses') }}
),

-- Each row's key_row_number and key_rank among the rows sharing its key (raw_tables(); macros/duplicate_keys.sql).
-- Codes are compared after normalization, so '428.0' and '4280' are the same entry.
ranked_entries as (
    {{ rank_duplicate_keys('dictionary_entries', raw_table('d_icd_diagnoses').key) }}
),

reasons_per_row as (
    select
        *,
        -- In order of precedence: reject_reason is the first that applies.
        {% call list_without_nulls() %}
            case when icd_code is null or icd_code = '' or icd_version is null then 'missing_required_value' end,
            case when key_row_number > 1 and key_rank = 1 then 'duplicate_row' end,
            case when key_rank > 1 then 'duplicate_key' end,
            case when icd_version not in (9, 10) then 'invalid_icd_version' end
        {% endcall %} as reject_reasons
    from ranked_entries
)

select
    icd_code,
    icd_version,
    long_title,
    {{ list_element('reject_reasons', 1) }} as reject_reason,
    reject_reasons,
    case when {{ list_length('reject_reasons') }} > 0 then {{ row_json('raw_row') }} end as raw_row
from reasons_per_row
