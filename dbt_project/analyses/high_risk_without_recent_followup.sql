{#- Outreach list: living patients of the high and complex risk tiers, active recently but without hospital
    contact lately. Active recently: their last discharge lies within var outreach_active_window_days of the
    end of their own follow-up (patients last seen years ago are no longer this hospital's to manage); without
    contact lately: more than var outreach_min_days_since_discharge days ago. Days are counted within each
    patient's own shifted calendar (MIMIC-IV has no common "today"; see int_patient_timeline for the data end
    and its one-year uncertainty). Highest risk first. Patient-level: restricted. -#}
with patients as (
    select * from {{ ref('patient_summary') }}
),

risk_tiers as (
    select risk_tier, tier_rank from {{ ref('risk_tiers') }}
)

select
    patients.subject_id,
    patients.segment_name,
    patients.risk_tier,
    patients.risk_score,
    patients.days_since_last_admission,
    patients.n_admissions,
    patients.n_chronic_conditions,
    patients.recommended_interventions
from patients
inner join risk_tiers
    on patients.risk_tier = risk_tiers.risk_tier
where risk_tiers.tier_rank >= 3
    and patients.vital_status = 'living'
    and patients.days_since_last_admission > {{ var('outreach_min_days_since_discharge') }}
    and patients.days_since_last_admission <= {{ var('outreach_active_window_days') }}
order by patients.risk_score desc, patients.subject_id asc
