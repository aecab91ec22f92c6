with patients as (
    select * from {{ ref('base_mimic__patients') }}
),

-- Each row's key_row_number and key_rank among the rows sharing its key (raw_tables(); macros/duplicate_keys.sql).
ranked_patients as (
    {{ rank_duplicate_keys('patients', raw_table('patients').key) }}
),

reasons_per_row as (
    select
        *,
        -- In order of precedence: reject_reason is the first that applies.
        {% call list_without_nulls() %}
            case when subject_id is null or gender is null or anchor_year is null or anchor_year_group is null
                then 'missing_required_value' end,
            case when key_row_number > 1 and key_rank = 1 then 'duplicate_row' end,
            case when key_rank > 1 then 'duplicate_key' end,
            case when anchor_age not between {{ var('anchor_age_min') }} and {{ var('anchor_age_max') }}
                then 'impossible_anchor_age' end,
            -- int_data_end and int_patient_timeline read the real years from this text.
            case when not {{ regexp_full_match('anchor_year_group', "'[0-9]{4} - [0-9]{4}'") }} then 'invalid_anchor_year_group' end,
            -- MIMIC-IV shifts dates to after 2100: an earlier year is an unshifted (real) date, a much
            -- later one a sentinel; either puts every date of the patient on a wrong calendar.
            case when anchor_year not between {{ var('anchor_year_min') }} and {{ var('anchor_year_max') }}
                then 'implausible_anchor_year' end,
            -- A death outside the release's years, in the patient's calendar, is a mistyped or sentinel date;
            -- it would decide the patient's vital status and follow-up.
            case when year(dod) not between {{ patient_first_plausible_year('anchor_year', 'anchor_year_group') }}
                    and {{ patient_last_plausible_year('anchor_year', 'anchor_year_group') }}
                then 'dod_outside_patient_years' end
        {% endcall %} as reject_reasons
    from ranked_patients
)

select
    subject_id,
    gender,
    anchor_age,
    anchor_year,
    anchor_year_group,
    dod,
    {{ list_element('reject_reasons', 1) }} as reject_reason,
    reject_reasons,
    case when {{ list_length('reject_reasons') }} > 0 then {{ row_json('raw_row') }} end as raw_row
from reasons_per_row
