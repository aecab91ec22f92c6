{#- Care-management recommendations are for the living: a patient with a recorded death keeps their score and tier
    (what the risk validation and outcome analyses need) but gets no care intensity and no intervention. -#}
with risk_components as (
    select * from {{ ref('int_patient_risk_components') }}
),

vital_status as (
    select subject_id, is_deceased from {{ ref('int_patient_mortality') }}
),

admission_conditions as (
    select subject_id, condition, condition_family from {{ ref('int_admission_conditions') }}
),

patients as (
    select subject_id from {{ ref('stg_mimic__patients') }}
),

patient_conditions as (
    select
        patients.subject_id,
        {{ sorted_distinct_list('admission_conditions.condition') }} as chronic_conditions,
        {{ sorted_distinct_list('admission_conditions.condition_family') }} as chronic_families
    from patients
    left join admission_conditions
        on patients.subject_id = admission_conditions.subject_id
    group by patients.subject_id
),

risk_tiers as (
    select risk_tier, min_score, next_min_score, care_intensity from {{ ref('int_risk_tiers') }}
),

care_interventions as (
    select risk_tier, condition_family, condition, priority, intervention from {{ ref('care_interventions') }}
),

-- A score equal to a tier's lowest score belongs to that tier.
tiered_patients as (
    select
        risk_components.*,
        risk_tiers.risk_tier,
        risk_tiers.care_intensity,
        vital_status.is_deceased
    from risk_components
    inner join vital_status
        on risk_components.subject_id = vital_status.subject_id
    inner join risk_tiers
        on risk_components.risk_score >= risk_tiers.min_score
        and (risk_tiers.next_min_score is null or risk_components.risk_score < risk_tiers.next_min_score)
),

-- Recommendations depend only on the tier and the patient's conditions, so they are matched once per distinct
-- combination (about 12,000 at 365,000 patients) rather than once per patient.
care_profiles as (
    select distinct
        tiered_patients.risk_tier,
        patient_conditions.chronic_conditions,
        patient_conditions.chronic_families
    from tiered_patients
    inner join patient_conditions
        on tiered_patients.subject_id = patient_conditions.subject_id
    where not tiered_patients.is_deceased
),

-- A catalog row without condition_family and condition applies to every patient of its tier, otherwise only to
-- those with a condition of that family or that condition.
matched_interventions as (
    select
        care_profiles.risk_tier,
        care_profiles.chronic_conditions,
        care_profiles.chronic_families,
        care_interventions.intervention,
        min(care_interventions.priority) as priority
    from care_profiles
    inner join care_interventions
        on care_profiles.risk_tier = care_interventions.risk_tier
        and (care_interventions.condition_family is null
            or {{ list_contains('care_profiles.chronic_families', 'care_interventions.condition_family') }})
        and (care_interventions.condition is null
            or {{ list_contains('care_profiles.chronic_conditions', 'care_interventions.condition') }})
    -- An intervention recommended for several reasons is listed once.
    group by all
),

profile_interventions as (
    select
        risk_tier,
        chronic_conditions,
        chronic_families,
        {{ string_agg_ordered('intervention', "'; '", 'priority, intervention') }} as recommended_interventions
    from matched_interventions
    group by risk_tier, chronic_conditions, chronic_families
)

select
    tiered_patients.subject_id,
    tiered_patients.clinical_complexity_score,
    tiered_patients.age_score,
    tiered_patients.functional_decline_score,
    tiered_patients.disease_specific_score,
    tiered_patients.social_determinants_score,
    tiered_patients.risk_score,
    percent_rank() over (order by tiered_patients.risk_score) as risk_percentile,
    tiered_patients.risk_tier,
    case when tiered_patients.is_deceased then 'deceased' else 'living' end as vital_status,
    case when not tiered_patients.is_deceased then tiered_patients.care_intensity end as care_intensity,
    case when not tiered_patients.is_deceased then profile_interventions.recommended_interventions end
        as recommended_interventions
from tiered_patients
left join patient_conditions
    on tiered_patients.subject_id = patient_conditions.subject_id
left join profile_interventions
    on tiered_patients.risk_tier = profile_interventions.risk_tier
    and patient_conditions.chronic_conditions = profile_interventions.chronic_conditions
    and patient_conditions.chronic_families = profile_interventions.chronic_families
