{#- One row per risk tier for care-management planning: how many living patients, how risky, what their care is
    estimated to cost and what the tier's care model recommends. Patients with a recorded death are left out of
    sizes, costs and interventions (they are never offered care); the utilization and outcome rates come from
    population_kpis (dimension 'risk_tier') and describe all patients of the tier, living and deceased, as
    outcome measures must. -#}
{%- set top_list_length = bi_number_var('bi_top_list_length', minimum=1, whole=true) -%}
{%- set min_cell_size = bi_min_cell_size() -%}

with patients as (
    select * from {{ ref('patient_population') }}
    where vital_status = 'living'
),

tier_kpis as (
    select * from {{ ref('population_kpis') }}
    where dimension = 'risk_tier'
),

risk_tiers as (
    select risk_tier, tier_rank, care_intensity, description from {{ ref('risk_tiers') }}
),

care_interventions as (
    select risk_tier, condition_family, condition, priority, intervention from {{ ref('care_interventions') }}
),

tier_counts as (
    select risk_tiers.risk_tier, count(patients.subject_id) as n_patients
    from risk_tiers
    left join patients
        on risk_tiers.risk_tier = patients.risk_tier
    group by risk_tiers.risk_tier
),

tier_counts_ranked as (
    select
        *,
        sum(n_patients) over () as n_living,
        count(*) filter (where n_patients < {{ min_cell_size }}) over () as n_small_tiers,
        row_number() over (order by n_patients, risk_tier) as size_rank
    from tier_counts
),

-- A single hidden tier could be recovered from the living total, so the next smallest tier is hidden with it.
tier_sizes as (
    select
        risk_tier,
        n_patients < {{ min_cell_size }} or (n_small_tiers = 1 and size_rank = 2) as is_suppressed,
        case when not (n_patients < {{ min_cell_size }} or (n_small_tiers = 1 and size_rank = 2))
            then n_patients end as n_patients,
        case when not (n_patients < {{ min_cell_size }} or (n_small_tiers = 1 and size_rank = 2))
            then n_patients / nullif(n_living, 0) end as share_of_population
    from tier_counts_ranked
),

tier_statistics as (
    select
        risk_tier,
        avg(risk_score::decimal(18, 6)) as avg_risk_score,
        avg(annual_cost_usd::decimal(18, 2)) as avg_annual_cost_usd,
        sum(annual_cost_usd::decimal(18, 2)) as total_annual_cost_usd
    from patients
    group by risk_tier
),

-- The tier's care model: the interventions every patient of the tier is offered, in priority order.
core_interventions as (
    select risk_tier, string_agg(intervention, '; ' order by priority, intervention) as interventions
    from care_interventions
    where condition_family is null and condition is null
    group by risk_tier
),

-- Condition-specific interventions as the tier's patients actually receive them.
condition_intervention_counts as (
    select patients.risk_tier, trim(intervention.item) as item, count(*) as n_holders
    from patients
    cross join unnest(string_split(patients.recommended_interventions, ';')) as intervention (item)
    where trim(intervention.item) not in (
        select core.intervention from care_interventions as core
        where core.risk_tier = patients.risk_tier and core.condition_family is null and core.condition is null
    )
    group by patients.risk_tier, trim(intervention.item)
),

top_condition_interventions as (
    {{ top_items('condition_intervention_counts', 'risk_tier', top_list_length, min_cell_size) }}
)

select
    tier_sizes.risk_tier::varchar as risk_tier,
    risk_tiers.tier_rank::integer as risk_tier_rank,
    risk_tiers.care_intensity::varchar as care_intensity,
    risk_tiers.description::varchar as tier_description,
    tier_sizes.n_patients::bigint as n_patients,
    tier_sizes.share_of_population::double as share_of_population,
    -- Averages and costs describe the tier only while its size is shown.
    (case when tier_sizes.n_patients is not null then tier_statistics.avg_risk_score end)::double
        as avg_risk_score,
    (case when tier_sizes.n_patients is not null then tier_statistics.avg_annual_cost_usd end)::double
        as avg_annual_cost_usd,
    (case when tier_sizes.n_patients is not null then tier_statistics.total_annual_cost_usd end)::double
        as total_annual_cost_usd,
    tier_kpis.n_admissions::bigint as n_admissions,
    tier_kpis.avg_los_days::double as avg_los_days,
    tier_kpis.readmission_rate_30d::double as readmission_rate_30d,
    tier_kpis.one_year_mortality_rate::double as one_year_mortality_rate,
    core_interventions.interventions::varchar as core_interventions,
    (case when tier_sizes.n_patients is not null then top_condition_interventions.items end)::varchar
        as condition_interventions,
    (tier_sizes.is_suppressed or tier_kpis.is_suppressed)::boolean as is_suppressed,
    nullif(concat_ws(', ',
        case when tier_sizes.is_suppressed then 'n_patients' end,
        case when tier_kpis.n_admissions is null then 'n_admissions' end
    ), '')::varchar as suppressed_columns
from tier_sizes
inner join tier_kpis
    on tier_sizes.risk_tier = tier_kpis.dimension_value
left join risk_tiers
    on tier_sizes.risk_tier = risk_tiers.risk_tier
left join tier_statistics
    on tier_sizes.risk_tier = tier_statistics.risk_tier
left join core_interventions
    on tier_sizes.risk_tier = core_interventions.risk_tier
left join top_condition_interventions
    on tier_sizes.risk_tier = top_condition_interventions.group_key
