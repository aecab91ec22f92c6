{#- The generator writes each synthetic patient's latent risk to synthetic_truth.patient_archetypes (see
    generator/schema.py); a real MIMIC-IV warehouse has no such table, and then no latent-risk rows are made. -#}
-- depends_on: {{ ref('int_patient_risk_components') }}
-- depends_on: {{ ref('int_patient_risk_inputs') }}
{%- set truth = adapter.get_relation(database=target.database, schema='synthetic_truth',
                                     identifier='patient_archetypes') if execute else none %}

with admissions as (
    select subject_id, hadm_id, admittime, is_last_admission from {{ ref('int_admissions_enriched') }}
),

admission_readmissions as (
    select subject_id, hadm_id, episode_seq, is_episode_start, readmitted_30d
    from {{ ref('int_admission_readmissions') }}
),

patients as (
    select subject_id, dod from {{ ref('stg_mimic__patients') }}
),

history_inputs as (
    select subject_id, charlson_index from {{ ref('int_patient_risk_inputs_before_last_admission') }}
),

history_scores as (
    select subject_id, risk_score from {{ ref('int_patient_risk_components_before_last_admission') }}
),

last_admissions as (
    select subject_id, hadm_id, admittime
    from admissions
    where is_last_admission
),

admission_counts as (
    select subject_id, count(*) as n_admissions
    from admissions
    group by subject_id
),

-- The episode before the last admission's episode, when the last admission starts an episode of its own; an
-- admission continuing an episode (a transfer) is no readmission. Episodes are the project's readmission unit
-- (int_admission_readmissions): the flag says the next episode began within 30 days of this one's discharge.
previous_episodes as (
    select distinct
        last_admissions.subject_id,
        previous_episode.readmitted_30d
    from last_admissions
    inner join admission_readmissions as last_episode
        on last_admissions.hadm_id = last_episode.hadm_id
    inner join admission_readmissions as previous_episode
        on last_episode.subject_id = previous_episode.subject_id
        and previous_episode.episode_seq = last_episode.episode_seq - 1
    where last_episode.is_episode_start
),

last_admission_outcomes as (
    select
        last_admissions.subject_id,
        admission_counts.n_admissions,
        coalesce(previous_episodes.readmitted_30d, false) as is_readmission_30d,
        coalesce(patients.dod <= last_admissions.admittime::date + interval 365 day, false) as died_within_1y,
        history_scores.risk_score,
        history_inputs.charlson_index
    from last_admissions
    inner join admission_counts
        on last_admissions.subject_id = admission_counts.subject_id
    inner join patients
        on last_admissions.subject_id = patients.subject_id
    inner join history_scores
        on last_admissions.subject_id = history_scores.subject_id
    inner join history_inputs
        on last_admissions.subject_id = history_inputs.subject_id
    left join previous_episodes
        on last_admissions.subject_id = previous_episodes.subject_id
)

select
    'readmission_30d' as outcome,
    subject_id,
    is_readmission_30d as is_positive,
    risk_score,
    charlson_index,
    null::double as latent_risk
from last_admission_outcomes
where n_admissions >= 2

union all

select
    'death_1y' as outcome,
    subject_id,
    died_within_1y as is_positive,
    risk_score,
    charlson_index,
    null::double as latent_risk
from last_admission_outcomes

{%- if truth is not none %}

union all

select
    'latent_risk_top_quartile' as outcome,
    current_scores.subject_id,
    truth.latent_risk >= quantile_cont(truth.latent_risk, 0.75) over () as is_positive,
    current_scores.risk_score,
    current_inputs.charlson_index,
    truth.latent_risk::double as latent_risk
from {{ ref('int_patient_risk_components') }} as current_scores
inner join {{ ref('int_patient_risk_inputs') }} as current_inputs
    on current_scores.subject_id = current_inputs.subject_id
inner join {{ truth }} as truth
    on current_scores.subject_id = truth.subject_id
{%- endif %}
