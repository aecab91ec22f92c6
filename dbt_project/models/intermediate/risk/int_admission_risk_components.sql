{#- The risk components and score as known at each discharge (int_risk_components). -#}
with risk_components as (
    select * from {{ ref('int_risk_components') }}
),

admission_components as (
    select
        subject_id, hadm_id, clinical_complexity_score, age_score, functional_decline_score, disease_specific_score,
        social_determinants_score, risk_score
    from risk_components
    where hadm_id is not null
)

select * from admission_components
