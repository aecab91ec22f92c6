{#- Ad-hoc outreach list: patients without a recorded death, of the high and complex risk tiers whose last hospital discharge lies
    more than N days (default 180, --vars '{analysis_followup_gap_days: N}') before the end of their own
    follow-up, i.e. no hospital contact recently, highest risk first. Days are counted within each patient's own
    shifted calendar (MIMIC-IV has no common "today"). Patient-level: restricted. -#}
{%- set gap_days = var('analysis_followup_gap_days', 180) -%}

with patients as (
    select * from {{ ref('patient_population') }}
),

risk_tiers as (
    select risk_tier, tier_rank from {{ ref('risk_tiers') }}
),

deaths as (
    select subject_id, dod from {{ ref('int_patient_mortality') }}
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
inner join deaths
    on patients.subject_id = deaths.subject_id
where risk_tiers.tier_rank >= 3
    and deaths.dod is null
    and patients.days_since_last_admission > {{ gap_days }}
order by patients.risk_score desc, patients.subject_id
