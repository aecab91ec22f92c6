{#- Patient-level inputs of the risk score, one row per patient in mimiciv_hosp.patients, from the admissions
    in `history`:
      'all_admissions'         every admission (the current score, patient_risk_scores)
      'before_last_admission'  only admissions discharged before the last admission's admittime (the
                               as-of score that risk_validation checks against outcomes of the last admission)
    Age and demographics are those of the last admission in both cases: they are recorded at registration,
    so they are known at its admittime. Patients without admissions get their anchor_age, no recorded
    demographics (has_admission false), zero counts and empty lists. -#}
{% macro risk_patient_inputs(history) -%}
{%- if history not in ['all_admissions', 'before_last_admission'] -%}
    {{ exceptions.raise_compiler_error("risk_patient_inputs: history must be 'all_admissions' or "
                                       ~ "'before_last_admission', got '" ~ history ~ "'") }}
{%- endif -%}
with patients as (
    select subject_id, anchor_age from {{ ref('stg_mimic__patients') }}
),

-- Not materialized: read where it is used (last admissions, history) rather than copied once for both.
admissions as not materialized (
    select
        subject_id, hadm_id, admittime, dischtime, age_at_admission, is_last_admission,
        discharge_location, insurance, language, marital_status
    from {{ ref('int_admissions_enriched') }}
),

admission_charlson as (
    select hadm_id, age_score, charlson_comorbidity_index from {{ ref('int_admission_charlson') }}
),

admission_icu as (
    select hadm_id, n_icu_stays from {{ ref('int_admission_icu') }}
),

admission_conditions as (
    select hadm_id, condition, condition_family from {{ ref('int_admission_conditions') }}
),

admission_readmissions as (
    select subject_id, hadm_id, episode_seq, next_episode_admittime, readmitted_30d
    from {{ ref('int_admission_readmissions') }}
),

last_admissions as (
    select
        admissions.subject_id,
        admissions.admittime,
        admissions.age_at_admission,
        admissions.insurance,
        admissions.language,
        admissions.marital_status,
        admission_charlson.age_score
    from admissions
    left join admission_charlson
        on admissions.hadm_id = admission_charlson.hadm_id
    where admissions.is_last_admission
),

history_admissions as (
    select admissions.*
    from admissions
    {%- if history == 'before_last_admission' %}
    inner join last_admissions
        on admissions.subject_id = last_admissions.subject_id
    where admissions.dischtime < last_admissions.admittime
    {%- endif %}
),

-- One row per index episode in the history that was followed by a 30-day readmission (the project's episode
-- definition: overlapping or same-day admissions are one stay). Before the last admission, only readmissions
-- that began before its admittime count, so the last admission itself is never one of them.
history_readmissions as (
    select distinct admission_readmissions.subject_id, admission_readmissions.episode_seq
    from admission_readmissions
    inner join history_admissions
        on admission_readmissions.hadm_id = history_admissions.hadm_id
    {%- if history == 'before_last_admission' %}
    inner join last_admissions
        on admission_readmissions.subject_id = last_admissions.subject_id
    {%- endif %}
    where admission_readmissions.readmitted_30d
    {%- if history == 'before_last_admission' %}
        and admission_readmissions.next_episode_admittime < last_admissions.admittime
    {%- endif %}
),

history_readmission_counts as (
    select subject_id, count(*) as n_readmissions_30d
    from history_readmissions
    group by subject_id
),

history_utilization as (
    select
        history_admissions.subject_id,
        count(*) as n_admissions,
        coalesce(sum(admission_icu.n_icu_stays), 0) as n_icu_stays,
        coalesce(max(admission_charlson.charlson_comorbidity_index - admission_charlson.age_score), 0)
            as charlson_comorbidity_points,
        list(coalesce(history_admissions.discharge_location, '(missing)')
             order by history_admissions.admittime, history_admissions.hadm_id) as discharge_locations
    from history_admissions
    left join admission_icu
        on history_admissions.hadm_id = admission_icu.hadm_id
    left join admission_charlson
        on history_admissions.hadm_id = admission_charlson.hadm_id
    group by history_admissions.subject_id
),

history_conditions as (
    select
        history_admissions.subject_id,
        list(distinct admission_conditions.condition order by admission_conditions.condition) as chronic_conditions,
        list(distinct admission_conditions.condition_family order by admission_conditions.condition_family)
            as chronic_families
    from history_admissions
    inner join admission_conditions
        on history_admissions.hadm_id = admission_conditions.hadm_id
    group by history_admissions.subject_id
)

select
    patients.subject_id,
    coalesce(last_admissions.age_at_admission, patients.anchor_age)::integer as age_at_last_admission,
    last_admissions.subject_id is not null as has_admission,
    last_admissions.insurance,
    last_admissions.language,
    last_admissions.marital_status,
    coalesce(history_utilization.n_admissions, 0)::integer as n_admissions,
    coalesce(history_utilization.n_icu_stays, 0)::integer as n_icu_stays,
    coalesce(history_readmission_counts.n_readmissions_30d, 0)::integer as n_readmissions_30d,
    coalesce(history_utilization.charlson_comorbidity_points, 0)::integer as charlson_comorbidity_points,
    -- The Charlson index as of the last admission: comorbidities from the history, age from the last admission.
    (coalesce(history_utilization.charlson_comorbidity_points, 0) + coalesce(last_admissions.age_score, 0))::integer
        as charlson_index,
    coalesce(len(history_conditions.chronic_conditions), 0)::integer as n_chronic_conditions,
    coalesce(len(history_conditions.chronic_families), 0)::integer as n_chronic_families,
    coalesce(history_conditions.chronic_conditions, []::varchar[]) as chronic_conditions,
    coalesce(history_conditions.chronic_families, []::varchar[]) as chronic_families,
    coalesce(history_utilization.discharge_locations, []::varchar[]) as discharge_locations
from patients
left join last_admissions
    on patients.subject_id = last_admissions.subject_id
left join history_utilization
    on patients.subject_id = history_utilization.subject_id
left join history_readmission_counts
    on patients.subject_id = history_readmission_counts.subject_id
left join history_conditions
    on patients.subject_id = history_conditions.subject_id
{%- endmacro %}
