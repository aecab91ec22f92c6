{#- One row per risk tier for care-management planning: how many patients, how many of them living (the cohort a
    program staffs for), how risky and costly the living are and what the tier's care model recommends them.
    The deceased are never offered care. Tier sizes and shares come suppressed from segment_tier_matrix (all
    patients), the utilization and outcome rates from population_kpis (dimension 'risk_tier', all patients of
    the tier, living and deceased, as outcome rates must). n_living is shown only when it and the tier's
    deceased (n_patients - n_living) are each 0 or at least the cell-size floor, so neither can be a small
    count; no living total is published, so a hidden n_living cannot be recovered from the others. -#}
{%- set kpi_figures = [
    ('n_admissions', ['n_admissions']),
    ('avg_los_days', ['n_admissions']),
    ('readmission_rate_30d', ['n_readmissions_30d', 'n_index_episodes']),
    ('one_year_mortality_rate', ['n_died_within_1y', 'n_patients']),
] -%}
{%- set top_list_length = bi_number_var('bi_top_list_length', minimum=1, whole=true) -%}
{%- set min_cell_size = bi_min_cell_size() -%}

with all_patients as (
    select * from {{ ref('patient_summary') }}
),

patients as (
    select * from all_patients
    where vital_status = 'living'
),

tier_sizes as (
    select risk_tier, n_patients, share_of_population, is_suppressed, suppression_reasons
    from {{ ref('segment_tier_matrix') }}
    where row_type = 'tier_total'
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

tier_vital_counts as (
    select
        risk_tiers.risk_tier,
        count(all_patients.subject_id) filter (where all_patients.vital_status = 'living') as n_living,
        count(all_patients.subject_id) filter (where all_patients.vital_status = 'deceased') as n_deceased
    from risk_tiers
    left join all_patients
        on risk_tiers.risk_tier = all_patients.risk_tier
    group by risk_tiers.risk_tier
),

-- A zero is shown: it says the tier has no living (or no deceased) patient, and points at no one.
living_sizes as (
    select
        risk_tier,
        case
            when (n_living = 0 or n_living >= {{ min_cell_size }})
                and (n_deceased = 0 or n_deceased >= {{ min_cell_size }})
                then n_living
        end as n_living,
        case
            when n_living between 1 and {{ min_cell_size - 1 }} then 'n_living: below_min_cell_size'
            when n_deceased between 1 and {{ min_cell_size - 1 }}
                then 'n_living: protects n_deceased (= n_patients - n_living)'
        end as suppression_reason
    from tier_vital_counts
),

-- Figures hidden because population_kpis hides a count behind them, and why.
kpi_suppression as (
    {{ kpi_figure_suppression('tier_kpis', kpi_figures) }}
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
    select risk_tier, {{ string_agg_ordered('intervention', "'; '", 'priority, intervention') }} as interventions
    from care_interventions
    where condition_family is null and condition is null
    group by risk_tier
),

-- Condition-specific interventions as the tier's patients actually receive them.
condition_intervention_counts as (
    select patients.risk_tier, trim(intervention.item) as item, count(*) as n_holders
    from patients
    {{ cross_join_split('patients.recommended_interventions', "';'", 'intervention', 'item') }}
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
    tier_sizes.risk_tier::{{ dbt.type_string() }} as risk_tier,
    risk_tiers.tier_rank::integer as risk_tier_rank,
    risk_tiers.care_intensity::{{ dbt.type_string() }} as care_intensity,
    risk_tiers.description::{{ dbt.type_string() }} as tier_description,
    tier_sizes.n_patients::bigint as n_patients,
    tier_sizes.share_of_population::double as share_of_population,
    living_sizes.n_living::bigint as n_living,
    -- Averages and costs describe the tier's living only while their number is shown.
    {{ bi_round('case when living_sizes.n_living is not null then tier_statistics.avg_risk_score end', 'score') }}
        as avg_risk_score,
    {{ bi_round('case when living_sizes.n_living is not null then tier_statistics.avg_annual_cost_usd end', 'usd') }}
        as avg_annual_cost_usd,
    {{ bi_round('case when living_sizes.n_living is not null then tier_statistics.total_annual_cost_usd end',
                'usd') }} as total_annual_cost_usd,
    tier_kpis.n_admissions::bigint as n_admissions,
    tier_kpis.avg_los_days::double as avg_los_days,
    tier_kpis.readmission_rate_30d::double as readmission_rate_30d,
    tier_kpis.one_year_mortality_rate::double as one_year_mortality_rate,
    core_interventions.interventions::{{ dbt.type_string() }} as core_interventions,
    (case when living_sizes.n_living is not null then top_condition_interventions.items end)::{{ dbt.type_string() }}
        as condition_interventions,
    (tier_sizes.is_suppressed or living_sizes.n_living is null or kpi_suppression.suppressed_columns is not null)
        ::boolean as is_suppressed,
    nullif(concat_ws(', ',
        case when tier_sizes.is_suppressed then 'n_patients' end,
        case when living_sizes.n_living is null then 'n_living' end,
        kpi_suppression.suppressed_columns
    ), '')::{{ dbt.type_string() }} as suppressed_columns,
    nullif(concat_ws('; ',
        tier_sizes.suppression_reasons,
        living_sizes.suppression_reason,
        kpi_suppression.suppression_reasons
    ), '')::{{ dbt.type_string() }} as suppression_reasons
from tier_sizes
inner join tier_kpis
    on tier_sizes.risk_tier = tier_kpis.dimension_value
left join risk_tiers
    on tier_sizes.risk_tier = risk_tiers.risk_tier
left join living_sizes
    on tier_sizes.risk_tier = living_sizes.risk_tier
inner join kpi_suppression
    on tier_sizes.risk_tier = kpi_suppression.dimension_value
left join tier_statistics
    on tier_sizes.risk_tier = tier_statistics.risk_tier
left join core_interventions
    on tier_sizes.risk_tier = core_interventions.risk_tier
left join top_condition_interventions
    on tier_sizes.risk_tier = top_condition_interventions.group_key
