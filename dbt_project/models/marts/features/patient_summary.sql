{#- Every patient with their segment, risk tier and the figures the BI marts aggregate: the one patient-level
    input of schema bi, so that all marts count the same people the same way. -#}
with features as (
    select * from {{ ref('patient_features') }}
),

segments as (
    select subject_id, segment_name from {{ ref('patient_segments') }}
),

risk_scores as (
    select subject_id, risk_score, risk_tier, vital_status, care_intensity, recommended_interventions
    from {{ ref('patient_risk_scores') }}
),

costs as (
    select subject_id, total_cost_usd, annual_cost_usd, observed_years from {{ ref('patient_costs') }}
),

admissions as (
    select subject_id, hadm_id, hospital_expire_flag from {{ ref('int_admissions_enriched') }}
),

admission_icu as (
    select hadm_id, n_icu_stays from {{ ref('int_admission_icu') }}
),

admission_charlson as (
    select hadm_id, diabetes_with_cc from {{ ref('int_admission_charlson') }}
),

admission_totals as (
    select
        admissions.subject_id,
        count(*) filter (where admission_icu.n_icu_stays > 0) as n_icu_admissions,
        count(*) filter (where admissions.hospital_expire_flag = 1) as n_in_hospital_deaths,
        coalesce(bool_or(admission_charlson.diabetes_with_cc = 1), false) as has_diabetes_complications
    from admissions
    left join admission_icu
        on admissions.hadm_id = admission_icu.hadm_id
    left join admission_charlson
        on admissions.hadm_id = admission_charlson.hadm_id
    group by admissions.subject_id
),

index_episodes as (
    -- Readmission denominators: episodes ending alive, counted once (on the episode's first admission).
    select subject_id, count(*) as n_index_episodes
    from {{ ref('int_admission_readmissions') }}
    where is_episode_start and is_index_episode
    group by subject_id
)

select
    features.subject_id::integer as subject_id,
    segments.segment_name::{{ dbt.type_string() }} as segment_name,
    risk_scores.risk_tier::{{ dbt.type_string() }} as risk_tier,
    risk_scores.risk_score::double as risk_score,
    risk_scores.vital_status::{{ dbt.type_string() }} as vital_status,
    risk_scores.care_intensity::{{ dbt.type_string() }} as care_intensity,
    risk_scores.recommended_interventions::{{ dbt.type_string() }} as recommended_interventions,
    features.gender::{{ dbt.type_string() }} as gender,
    features.age_at_last_admission::integer as age_at_last_admission,
    features.age_bucket::{{ dbt.type_string() }} as age_bucket,
    features.n_chronic_conditions::integer as n_chronic_conditions,
    features.charlson_max::integer as charlson_max,
    features.n_admissions::integer as n_admissions,
    features.n_emergency_admissions::integer as n_emergency_admissions,
    features.n_ed_admissions::integer as n_ed_admissions,
    coalesce(admission_totals.n_icu_admissions, 0)::integer as n_icu_admissions,
    features.n_icu_stays::integer as n_icu_stays,
    features.total_los_days::double as total_los_days,
    features.days_since_last_admission::integer as days_since_last_admission,
    coalesce(index_episodes.n_index_episodes, 0)::integer as n_index_episodes,
    features.n_readmissions_30d::integer as n_readmissions_30d,
    features.n_readmissions_60d::integer as n_readmissions_60d,
    features.n_readmissions_90d::integer as n_readmissions_90d,
    coalesce(admission_totals.n_in_hospital_deaths, 0)::integer as n_in_hospital_deaths,
    features.died_in_hospital::boolean as died_in_hospital,
    features.died_within_1y::boolean as died_within_1y,
    coalesce(admission_totals.has_diabetes_complications, false)::boolean as has_diabetes_complications,
    costs.total_cost_usd::double as total_cost_usd,
    costs.annual_cost_usd::double as annual_cost_usd,
    costs.observed_years::double as observed_years
from features
left join segments
    on features.subject_id = segments.subject_id
left join risk_scores
    on features.subject_id = risk_scores.subject_id
left join costs
    on features.subject_id = costs.subject_id
left join admission_totals
    on features.subject_id = admission_totals.subject_id
left join index_episodes
    on features.subject_id = index_episodes.subject_id
