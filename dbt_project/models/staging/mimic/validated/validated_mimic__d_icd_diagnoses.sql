with dictionary_entries as (
    select * from {{ ref('base_mimic__d_icd_diagnoses') }}
),

duplicated_keys as (
    -- Codes are compared after normalization, so '428.0' and '4280' are the same entry.
    select icd_code, icd_version
    from dictionary_entries
    group by icd_code, icd_version
    having count(*) > 1
),

-- Only rows of a duplicated key are ranked: the first in the order of all their columns (so that the choice never
-- depends on file order) has key_row_number 1; rows equal to it in every column share its key_rank of 1.
ranked_entries as (
    select dictionary_entries.*, 1 as key_row_number, 1 as key_rank
    from dictionary_entries
    anti join duplicated_keys using (icd_code, icd_version)
    union all
    select dictionary_entries.*, row_number() over same_code, rank() over same_code
    from dictionary_entries
    semi join duplicated_keys using (icd_code, icd_version)
    window same_code as (partition by icd_code, icd_version order by raw_row)
),

reasons_per_row as (
    select
        ranked_entries.*,
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
