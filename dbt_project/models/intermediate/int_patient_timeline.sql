with patients as (
    select subject_id, anchor_year, anchor_year_group, dod from {{ ref('stg_mimic__patients') }}
),

patient_admissions as (
    select
        subject_id,
        count(*) as n_admissions,
        min(admittime) as first_admittime,
        max(admittime) as last_admittime,
        max(dischtime) as last_dischtime
    from {{ ref('int_admissions_enriched') }}
    group by subject_id
),

patient_study_ends as (
    select
        subject_id,
        dod,
        -- The study's last real year, moved into the patient's shifted calendar from the first year of their
        -- anchor_year_group: the latest end consistent with the anchor, so never before one of their admissions.
        make_date(
            anchor_year + ({{ var('study_end_real_year') }} - left(anchor_year_group, 4)::integer), 12, 31
        ) as study_end_date
    from patients
)

select
    patient_study_ends.subject_id,
    coalesce(patient_admissions.n_admissions, 0)::integer as n_admissions,
    patient_admissions.first_admittime,
    patient_admissions.last_admittime,
    patient_admissions.last_dischtime,
    patient_study_ends.study_end_date,
    -- least() skips NULLs: without a known death the follow-up runs to the study end.
    least(patient_study_ends.dod, patient_study_ends.study_end_date) as followup_end_date,
    -- A death recorded hours before the discharge timestamp would give a negative gap, hence the floor at 0.
    case
        when patient_admissions.last_dischtime is not null
            then greatest(
                date_diff(
                    'day',
                    patient_admissions.last_dischtime::date,
                    least(patient_study_ends.dod, patient_study_ends.study_end_date)
                ),
                0
            )
    end::integer as days_since_last_admission
from patient_study_ends
left join patient_admissions
    on patient_study_ends.subject_id = patient_admissions.subject_id
