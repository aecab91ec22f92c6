{#- Prospective validation of the risk score. The index is every discharge a patient survived: the end of each
    hospital episode (int_admission_readmissions: overlapping or same-day admissions are one stay) not ended by
    death. Everything that scores it is known at that discharge: the risk components as of the episode's last
    admission (int_admission_risk_components), the Charlson index as of then, the Elixhauser indexes of that
    admission (int_admission_elixhauser: van Walraven, AHRQ readmission and mortality), and the LACE index (van Walraven
    et al., CMAJ 2010;182:551; points in seed lace_points) of the episode: length of stay, acute admission,
    Charlson comorbidity points without age, and emergency department visits in the 6 months (183 days) before
    the admission. MIMIC-IV's admissions table only knows ED visits that led to an admission, so E counts those.
    Outcomes, after the discharge only: a new episode within 30 days, and death within 365 days. The 30-day
    window must fit inside the patient's data (int_patient_timeline.data_end_date) unless the readmission was
    seen; otherwise readmitted_30d is NULL (censored). Deaths are recorded up to a year after the last discharge,
    so the year after any discharge is observed. -#}
with admissions as {{ not_materialized() }} (
    select subject_id, hadm_id, admittime, has_ed_visit, is_emergency from {{ ref('int_admissions_enriched') }}
),

admission_episodes as (
    select
        subject_id, hadm_id, admittime, episode_seq, episode_admittime, episode_dischtime, is_index_episode,
        readmitted_30d
    from {{ ref('int_admission_readmissions') }}
),

admission_components as (
    select * from {{ ref('int_admission_risk_components') }}
),

risk_tiers as (
    select risk_tier, min_score, next_min_score from {{ ref('int_risk_tiers') }}
),

admission_inputs as (
    select hadm_id, charlson_comorbidity_points, charlson_index from {{ ref('int_admission_risk_inputs') }}
),

admission_elixhauser as (
    select hadm_id, elixhauser_van_walraven, ahrq_readmission_index, ahrq_mortality_index
    from {{ ref('int_admission_elixhauser') }}
),

timelines as (
    select subject_id, data_end_date from {{ ref('int_patient_timeline') }}
),

patients as (
    select subject_id, dod from {{ ref('stg_mimic__patients') }}
),

lace_points as (
    select component, lower_bound, upper_bound, points from {{ ref('lace_points') }}
),

-- The episode's last admission carries the inputs known at the episode's discharge; its first says how the
-- patient came in.
index_episodes as (
    select
        subject_id,
        episode_seq,
        min(episode_admittime) as episode_admittime,
        min(episode_dischtime) as episode_dischtime,
        bool_or(readmitted_30d) as readmitted_30d,
        {{ arg_max_by('hadm_id', ['admittime', 'hadm_id']) }} as index_hadm_id,
        {{ arg_min_by('hadm_id', ['admittime', 'hadm_id']) }} as first_hadm_id
    from admission_episodes
    where is_index_episode
    group by subject_id, episode_seq
),

-- Emergency department visits in the 6 months (183 days) before each admission: a running count over the
-- patient's admissions, read at the episode's first admission.
prior_ed_visits as (
    select
        hadm_id,
        coalesce(count(*) filter (where has_ed_visit) over (
            partition by subject_id order by admittime
            {{ range_frame_days_before(183) }}
        ), 0) as n_ed_visits_6m
    from admissions
),

lace_values as (
    select
        index_episodes.subject_id,
        index_episodes.episode_seq,
        {{ dbt.datediff('index_episodes.episode_admittime::date', 'index_episodes.episode_dischtime::date', 'day') }}
            as length_of_stay,
        first_admissions.is_emergency::integer as acuity,
        admission_inputs.charlson_comorbidity_points as comorbidity,
        prior_ed_visits.n_ed_visits_6m as emergency_visits
    from index_episodes
    inner join admissions as first_admissions
        on index_episodes.first_hadm_id = first_admissions.hadm_id
    inner join admission_inputs
        on index_episodes.index_hadm_id = admission_inputs.hadm_id
    inner join prior_ed_visits
        on index_episodes.first_hadm_id = prior_ed_visits.hadm_id
),

lace_component_values as (
    select subject_id, episode_seq, 'length_of_stay' as component, length_of_stay as value from lace_values
    union all
    select subject_id, episode_seq, 'acuity', acuity from lace_values
    union all
    select subject_id, episode_seq, 'comorbidity', comorbidity from lace_values
    union all
    select subject_id, episode_seq, 'emergency_visits', emergency_visits from lace_values
),

lace_scores as (
    select
        lace_component_values.subject_id,
        lace_component_values.episode_seq,
        sum(lace_points.points) as lace_index
    from lace_component_values
    inner join lace_points
        on lace_component_values.component = lace_points.component
        and lace_component_values.value >= lace_points.lower_bound
        and (lace_points.upper_bound is null or lace_component_values.value < lace_points.upper_bound)
    group by lace_component_values.subject_id, lace_component_values.episode_seq
)

select
    index_episodes.subject_id,
    index_episodes.index_hadm_id,
    index_episodes.episode_seq,
    index_episodes.episode_dischtime as index_dischtime,
    admission_components.clinical_complexity_score,
    admission_components.age_score,
    admission_components.functional_decline_score,
    admission_components.disease_specific_score,
    admission_components.social_determinants_score,
    admission_components.risk_score,
    risk_tiers.risk_tier,
    admission_inputs.charlson_index,
    lace_scores.lace_index::integer as lace_index,
    admission_elixhauser.elixhauser_van_walraven,
    admission_elixhauser.ahrq_readmission_index,
    admission_elixhauser.ahrq_mortality_index,
    case
        when index_episodes.readmitted_30d then true
        when index_episodes.episode_dischtime::date + interval 30 day <= timelines.data_end_date then false
    end as readmitted_30d,
    coalesce(patients.dod <= index_episodes.episode_dischtime::date + interval 365 day, false) as died_within_1y
from index_episodes
inner join admission_components
    on index_episodes.index_hadm_id = admission_components.hadm_id
inner join risk_tiers
    on admission_components.risk_score >= risk_tiers.min_score
    and (risk_tiers.next_min_score is null or admission_components.risk_score < risk_tiers.next_min_score)
inner join admission_inputs
    on index_episodes.index_hadm_id = admission_inputs.hadm_id
inner join admission_elixhauser
    on index_episodes.index_hadm_id = admission_elixhauser.hadm_id
inner join lace_scores
    on index_episodes.subject_id = lace_scores.subject_id
    and index_episodes.episode_seq = lace_scores.episode_seq
inner join timelines
    on index_episodes.subject_id = timelines.subject_id
inner join patients
    on index_episodes.subject_id = patients.subject_id
