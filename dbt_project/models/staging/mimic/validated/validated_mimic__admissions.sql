{#- Every timestamp of an admission must lie in its patient's plausible years (macros/plausibility.sql). -#}
{%- set plausible_years_columns = ['admittime', 'dischtime', 'deathtime', 'edregtime', 'edouttime'] -%}

with admissions as (
    select * from {{ ref('base_mimic__admissions') }}
),

raw_patient_ids as (
    select distinct subject_id from {{ ref('base_mimic__patients') }}
),

valid_patients as (
    select
        subject_id,
        anchor_age,
        anchor_year,
        dod,
        {{ patient_first_plausible_year('anchor_year', 'anchor_year_group') }} as first_plausible_year,
        {{ patient_last_plausible_year('anchor_year', 'anchor_year_group') }} as last_plausible_year
    from {{ ref('validated_mimic__patients') }}
    where reject_reason is null
),

-- Each row's key_row_number and key_rank among the rows sharing its key (raw_tables(); macros/duplicate_keys.sql).
ranked_admissions as (
    {{ rank_duplicate_keys('admissions', raw_table('admissions').key) }}
),

reasons_per_row as (
    select
        ranked_admissions.*,
        -- In order of precedence: reject_reason is the first that applies.
        {% call list_without_nulls() %}
            case when ranked_admissions.hadm_id is null or ranked_admissions.subject_id is null
                    or ranked_admissions.admittime is null or ranked_admissions.dischtime is null
                    or ranked_admissions.admission_type is null
                then 'missing_required_value' end,
            case when ranked_admissions.key_row_number > 1 and ranked_admissions.key_rank = 1 then 'duplicate_row' end,
            case when ranked_admissions.key_rank > 1 then 'duplicate_key' end,
            case when ranked_admissions.subject_id is not null and raw_patient_ids.subject_id is null
                then 'orphan_subject_id' end,
            case when raw_patient_ids.subject_id is not null and valid_patients.subject_id is null
                then 'parent_patient_rejected' end,
            case when ranked_admissions.dischtime < ranked_admissions.admittime then 'discharge_before_admission' end,
            -- MIMIC's age concept: the anchor age moved by whole calendar years.
            case when valid_patients.anchor_age
                    + (year(ranked_admissions.admittime) - valid_patients.anchor_year) < 0
                then 'negative_age_at_admission' end,
            -- A date outside the release's years in the patient's own calendar (a sentinel such as 9999-12-31,
            -- a mistyped century) would turn lengths of stay, ED hours and follow-up into nonsense.
            -- least() and greatest() skip NULLs: an empty deathtime or ED time is not judged here.
            case when least({% for column in plausible_years_columns -%}
                        year(ranked_admissions.{{ column }}){{ ', ' if not loop.last }}
                    {%- endfor %}) < valid_patients.first_plausible_year
                    or greatest({% for column in plausible_years_columns -%}
                        year(ranked_admissions.{{ column }}){{ ', ' if not loop.last }}
                    {%- endfor %}) > valid_patients.last_plausible_year
                then 'timestamp_outside_patient_years' end,
            -- Measured as int_admissions_enriched measures los_days; one such stay moves every mean LOS.
            case when {{ seconds_between('ranked_admissions.admittime', 'ranked_admissions.dischtime') }} / 86400.0
                    > {{ var('max_length_of_stay_days') }}
                then 'length_of_stay_too_long' end,
            -- dod is a date: a death later on the day of admission is real, only a dod before that day is not.
            -- The admission, not the patient, is rejected (as for negative_age_at_admission): the dod then
            -- still agrees with every admission kept.
            case when ranked_admissions.admittime::date > valid_patients.dod then 'admission_after_death' end,
            -- deathtime is a timestamp; hours after dischtime is real (the discharge recorded at the start of the
            -- day of death) and kept. Before admittime it is no stay of a living patient (in MIMIC, e.g. an
            -- organ-donor account opened after the death).
            case when ranked_admissions.deathtime < ranked_admissions.admittime then 'death_before_admission' end,
            case when ranked_admissions.edouttime < ranked_admissions.edregtime then 'ed_out_before_registration' end,
            case when ranked_admissions.hospital_expire_flag not in (0, 1) then 'invalid_hospital_expire_flag' end
        {% endcall %} as reject_reasons
    from ranked_admissions
    left join raw_patient_ids
        on ranked_admissions.subject_id = raw_patient_ids.subject_id
    left join valid_patients
        on ranked_admissions.subject_id = valid_patients.subject_id
)

select
    subject_id,
    hadm_id,
    admittime,
    dischtime,
    deathtime,
    admission_type,
    admit_provider_id,
    admission_location,
    discharge_location,
    insurance,
    language,
    marital_status,
    race,
    edregtime,
    edouttime,
    hospital_expire_flag,
    {{ list_element('reject_reasons', 1) }} as reject_reason,
    reject_reasons,
    case when {{ list_length('reject_reasons') }} > 0 then {{ row_json('raw_row') }} end as raw_row
from reasons_per_row
