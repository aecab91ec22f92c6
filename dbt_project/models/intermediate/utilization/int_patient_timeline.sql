{#- Each patient's own follow-up window. Dates are shifted per patient, so the data's real end year is moved
    into the patient's calendar through their anchor: anchor_year stands for some real year inside the 3-year
    window of anchor_year_group, unknown which. The middle year is the unbiased guess (the error is at most
    one year either way); the window's first or last year would move every patient's end a year too late or
    too early. The end is never put before the patient's own last discharge. -#}
with patients as (
    select subject_id, anchor_year, anchor_year_group, dod from {{ ref('stg_mimic__patients') }}
),

data_end as (
    select data_end_real_year from {{ ref('int_data_end') }}
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

patient_anchor_windows as (
    select
        patients.subject_id,
        patients.dod,
        patients.anchor_year + data_end.data_end_real_year - left(patients.anchor_year_group, 4)::integer
            as years_to_end_from_window_start
    from patients
    cross join data_end
),

patient_data_ends as (
    select
        patient_anchor_windows.subject_id,
        patient_anchor_windows.dod,
        patient_admissions.n_admissions,
        patient_admissions.first_admittime,
        patient_admissions.last_admittime,
        patient_admissions.last_dischtime,
        -- greatest() skips NULLs: without an admission the mapped dates stand as they are.
        greatest(
            make_date(patient_anchor_windows.years_to_end_from_window_start - 2, 12, 31),
            patient_admissions.last_dischtime::date
        ) as data_end_date_earliest,
        greatest(
            make_date(patient_anchor_windows.years_to_end_from_window_start - 1, 12, 31),
            patient_admissions.last_dischtime::date
        ) as data_end_date,
        greatest(
            make_date(patient_anchor_windows.years_to_end_from_window_start, 12, 31),
            patient_admissions.last_dischtime::date
        ) as data_end_date_latest
    from patient_anchor_windows
    left join patient_admissions
        on patient_anchor_windows.subject_id = patient_admissions.subject_id
),

patient_follow_up as (
    select
        *,
        -- least() skips NULLs: without a dod the follow-up runs to the data end.
        least(dod, data_end_date) as followup_end_date
    from patient_data_ends
)

select
    subject_id,
    coalesce(n_admissions, 0)::integer as n_admissions,
    first_admittime,
    last_admittime,
    last_dischtime,
    data_end_date_earliest,
    data_end_date,
    data_end_date_latest,
    followup_end_date,
    -- A death recorded hours before the discharge timestamp would give a negative gap, hence the floor at 0.
    case
        when last_dischtime is not null
            then greatest({{ dbt.datediff('last_dischtime::date', 'followup_end_date', 'day') }}, 0)
    end::integer as days_since_last_admission
from patient_follow_up
