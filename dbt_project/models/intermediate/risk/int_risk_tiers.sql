{#- The risk tiers with the score range each one holds: [min_score, next tier's min_score), the top tier up to
    and including 1. Lowest scores from seed risk_tier_cutoffs, or var risk_tier_cutoffs when set (checked first:
    0 < medium < high < complex <= 1, one per tier above the lowest); a score equal to a cut-off belongs to the
    higher tier. The tiers, their order and care intensity come from seed risk_tiers. -#}
{%- set overrides = var('risk_tier_cutoffs') -%}
{%- if overrides -%}
{%- do risk_checked_tier_cutoffs(overrides) -%}
{%- endif %}
with tiers as (
    select risk_tier, tier_rank, care_intensity from {{ ref('risk_tiers') }}
),

cutoffs as (
    select risk_tier, min_score from {{ ref('risk_tier_cutoffs') }}
),

seeded_tiers as (
    select tiers.risk_tier, tiers.tier_rank, cutoffs.min_score, tiers.care_intensity
    from tiers
    inner join cutoffs
        on tiers.risk_tier = cutoffs.risk_tier
),

tier_floors as (
    select
        risk_tier,
        tier_rank,
        {%- if overrides %}
        case risk_tier
            {%- for tier, score in overrides.items() %}
            when '{{ tier }}' then {{ score }}
            {%- endfor %}
            else min_score
        end as min_score,
        {%- else %}
        min_score,
        {%- endif %}
        care_intensity
    from seeded_tiers
),

tier_ranges as (
    select
        risk_tier::{{ dbt.type_string() }} as risk_tier,
        tier_rank::integer as tier_rank,
        min_score::double as min_score,
        lead(min_score) over (order by tier_rank)::double as next_min_score,
        care_intensity::{{ dbt.type_string() }} as care_intensity
    from tier_floors
)

select * from tier_ranges
