{#- Every patient's current risk components and score: as of their last discharge, or, never admitted, today
    (both scored by int_risk_components). -#}
with risk_components as (
    select * from {{ ref('int_risk_components') }}
),

last_admissions as (
    select hadm_id from {{ ref('int_admissions_enriched') }}
    where is_last_admission
),

current_components as (
    select
        risk_components.subject_id, risk_components.clinical_complexity_score, risk_components.age_score,
        risk_components.functional_decline_score, risk_components.disease_specific_score,
        risk_components.social_determinants_score, risk_components.risk_score
    from risk_components
    inner join last_admissions
        on risk_components.hadm_id = last_admissions.hadm_id
    union all
    select
        subject_id, clinical_complexity_score, age_score, functional_decline_score, disease_specific_score,
        social_determinants_score, risk_score
    from risk_components
    where hadm_id is null
)

select * from current_components
