with icu_stays as (
    select * from {{ ref('base_mimic__icustays') }}
),

raw_admission_ids as (
    select distinct hadm_id from {{ ref('base_mimic__admissions') }}
),

-- An in-hospital death is often recorded with the discharge at the start of the day of death and the death
-- hours later; the ICU stay then runs to the death. The admission ends at the later of the two.
valid_admissions as (
    select hadm_id, subject_id, admittime, greatest(dischtime, coalesce(deathtime, dischtime)) as admission_endtime
    from {{ ref('validated_mimic__admissions') }}
    where reject_reason is null
),

-- Each row's key_row_number and key_rank among the rows sharing its key (raw_tables(); macros/duplicate_keys.sql).
ranked_icu_stays as (
    {{ rank_duplicate_keys('icu_stays', raw_table('icustays').key) }}
),

reasons_per_row as (
    select
        ranked_icu_stays.*,
        -- In order of precedence: reject_reason is the first that applies.
        {% call list_without_nulls() %}
            case when ranked_icu_stays.stay_id is null or ranked_icu_stays.hadm_id is null
                    or ranked_icu_stays.subject_id is null or ranked_icu_stays.intime is null
                then 'missing_required_value' end,
            case when ranked_icu_stays.key_row_number > 1 and ranked_icu_stays.key_rank = 1 then 'duplicate_row' end,
            case when ranked_icu_stays.key_rank > 1 then 'duplicate_key' end,
            case when ranked_icu_stays.hadm_id is not null and raw_admission_ids.hadm_id is null
                then 'orphan_hadm_id' end,
            case when raw_admission_ids.hadm_id is not null and valid_admissions.hadm_id is null
                then 'parent_admission_rejected' end,
            case when ranked_icu_stays.subject_id <> valid_admissions.subject_id then 'patient_mismatch' end,
            case when ranked_icu_stays.outtime < ranked_icu_stays.intime then 'outtime_before_intime' end,
            case when ranked_icu_stays.los < 0 then 'negative_length_of_stay' end,
            -- ICU days are summed from los (int_admission_icu); MIMIC-IV's los is outtime - intime in days, so a
            -- los that disagrees with the stay's own times was changed by hand or by a faulty export.
            case when abs(ranked_icu_stays.los - {{ seconds_between('ranked_icu_stays.intime', 'ranked_icu_stays.outtime') }} / 86400.0)
                    > {{ var('icu_los_tolerance_hours') }} / cast(24.0 as double)
                then 'icu_los_mismatch' end,
            -- Stays crossing the admission's edge by less than the tolerance are real MIMIC-IV data.
            case when ranked_icu_stays.intime
                    < valid_admissions.admittime - {{ var('icu_stay_admission_tolerance_hours') }} * interval 1 hour
                    or ranked_icu_stays.outtime
                    > valid_admissions.admission_endtime
                        + {{ var('icu_stay_admission_tolerance_hours') }} * interval 1 hour
                then 'icu_stay_outside_admission' end,
            -- The admission's own length is capped the same way; this catches a los beyond it when outtime is
            -- empty and the comparisons above cannot apply.
            case when ranked_icu_stays.los > {{ var('max_length_of_stay_days') }}
                    or {{ seconds_between('ranked_icu_stays.intime', 'ranked_icu_stays.outtime') }} / 86400.0
                    > {{ var('max_length_of_stay_days') }}
                then 'length_of_stay_too_long' end
        {% endcall %} as reject_reasons
    from ranked_icu_stays
    left join raw_admission_ids
        on ranked_icu_stays.hadm_id = raw_admission_ids.hadm_id
    left join valid_admissions
        on ranked_icu_stays.hadm_id = valid_admissions.hadm_id
)

select
    subject_id,
    hadm_id,
    stay_id,
    first_careunit,
    last_careunit,
    intime,
    outtime,
    los,
    {{ list_element('reject_reasons', 1) }} as reject_reason,
    reject_reasons,
    case when {{ list_length('reject_reasons') }} > 0 then {{ row_json('raw_row') }} end as raw_row
from reasons_per_row
