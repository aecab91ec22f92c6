{#- Observed outcome rates per risk tier at the index discharges of the prospective validation: every tier of
    seed risk_tiers appears for each outcome, an empty one with 0 discharges. -#}
with observations as (
    select risk_tier, risk_score, readmitted_30d, died_within_1y
    from {{ ref('int_risk_validation_observations') }}
),

risk_tiers as (
    select risk_tier, tier_rank from {{ ref('risk_tiers') }}
),

outcome_observations as (
    select 'readmitted_30d' as outcome, risk_tier, risk_score, readmitted_30d as is_event
    from observations
    where readmitted_30d is not null
    union all
    select 'died_within_1y', risk_tier, risk_score, died_within_1y
    from observations
),

tier_outcomes as (
    select
        outcome,
        risk_tier,
        count(*) as n_index_discharges,
        count(*) filter (where is_event) as n_events,
        avg(risk_score) as mean_risk_score
    from outcome_observations
    group by outcome, risk_tier
),

outcome_tiers as (
    select outcomes.outcome, risk_tiers.risk_tier, risk_tiers.tier_rank
    from (values ('readmitted_30d'), ('died_within_1y')) as outcomes (outcome)
    cross join risk_tiers
)

select
    outcome_tiers.outcome::{{ dbt.type_string() }} as outcome,
    outcome_tiers.risk_tier::{{ dbt.type_string() }} as risk_tier,
    outcome_tiers.tier_rank::integer as tier_rank,
    coalesce(tier_outcomes.n_index_discharges, 0)::integer as n_index_discharges,
    coalesce(tier_outcomes.n_events, 0)::integer as n_events,
    (tier_outcomes.n_events / nullif(tier_outcomes.n_index_discharges, 0))::double as observed_rate,
    round(tier_outcomes.mean_risk_score, 4)::double as mean_risk_score
from outcome_tiers
left join tier_outcomes
    on outcome_tiers.outcome = tier_outcomes.outcome
    and outcome_tiers.risk_tier = tier_outcomes.risk_tier
