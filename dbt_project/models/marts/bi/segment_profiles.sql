{#- One profile per segment of the selected clustering. Patient and tier counts come suppressed from
    segment_tier_matrix, utilization and outcome KPIs from population_kpis; sex and age counts are suppressed
    here against the segment size. One count per age band of seed age_buckets (n_age_18_44 for '18-44',
    n_age_85_plus for '85+') and per tier of seed risk_tiers (n_tier_low ...). The relationships tests of
    patient_summary and patient_risk_scores stop the build before a value outside the seeds could go uncounted. -#}
{%- set age_bands = [] -%}
{%- for band in seed_values('age_buckets', 'age_bucket', order_by='min_age') -%}
    {%- do age_bands.append((band, band | replace('-', '_') | replace('+', '_plus'))) -%}
{%- endfor -%}
{%- set risk_tiers = seed_values('risk_tiers', 'risk_tier', order_by='tier_rank') -%}
{%- set top_list_length = bi_number_var('bi_top_list_length', minimum=1, whole=true) -%}
{%- set min_cell_size = bi_min_cell_size() -%}
{%- set age_counts = [] -%}
{%- for band, suffix in age_bands -%}{%- do age_counts.append('n_age_' ~ suffix) -%}{%- endfor -%}
{%- set tier_counts = [] -%}
{%- for tier in risk_tiers -%}{%- do tier_counts.append('n_tier_' ~ tier) -%}{%- endfor -%}
{#- Figures taken from population_kpis, with the counts of population_kpis behind each: a figure is hidden here
    when one of them is hidden there. -#}
{%- set kpi_figures = [
    ('n_admissions', ['n_admissions']),
    ('admissions_per_patient', ['n_admissions']),
    ('avg_los_days', ['n_admissions']),
    ('icu_admission_rate', ['n_icu_admissions', 'n_admissions']),
    ('ed_admission_rate', ['n_ed_admissions', 'n_admissions']),
    ('readmission_rate_30d', ['n_readmissions_30d', 'n_index_episodes']),
    ('readmission_rate_60d', ['n_readmissions_60d', 'n_index_episodes']),
    ('readmission_rate_90d', ['n_readmissions_90d', 'n_index_episodes']),
    ('in_hospital_mortality_rate', ['n_in_hospital_deaths', 'n_admissions']),
    ('one_year_mortality_rate', ['n_died_within_1y', 'n_patients']),
] -%}

with patients as (
    select * from {{ ref('patient_summary') }}
),

segment_tier_counts as (
    select segment_name, risk_tier, row_type, n_patients, is_suppressed from {{ ref('segment_tier_matrix') }}
    where row_type in ('segment_total', 'segment_tier')
),

segment_kpis as (
    select * from {{ ref('population_kpis') }}
    where dimension = 'segment'
),

patient_conditions as (
    select subject_id, condition_label from {{ ref('patient_conditions') }}
),

population as (
    select n_patients from {{ ref('segment_tier_matrix') }}
    where row_type = 'population_total'
),

segment_counts as (
    select
        segment_name,
        count(*) as n_patients,
        count(*) filter (where gender = 'F') as n_female,
        count(*) filter (where gender = 'M') as n_male,
        {%- for band, suffix in age_bands %}
        count(*) filter (where age_bucket = '{{ band }}') as n_age_{{ suffix }},
        {%- endfor %}
        {%- for tier in risk_tiers %}
        count(*) filter (where risk_tier = '{{ tier }}') as n_tier_{{ tier }},
        {%- endfor %}
        avg(age_at_last_admission) as avg_age,
        avg(n_chronic_conditions) as avg_chronic_conditions,
        avg(charlson_max) as avg_charlson_max,
        avg(risk_score::decimal(18, 6)) as avg_risk_score,
        avg(annual_cost_usd::decimal(18, 2)) as avg_annual_cost_usd,
        sum(annual_cost_usd::decimal(18, 2)) as total_annual_cost_usd
    from patients
    group by segment_name
),

-- The segment size and its tier mix are shown or hidden exactly as in segment_tier_matrix.
fixed_cells as (
    select
        segment_name as row_key,
        case when row_type = 'segment_total' then 'n_patients' else 'n_tier_' || risk_tier end as count_name,
        is_suppressed
    from segment_tier_counts
),

{{ suppress_counts('segment_counts', 'segment_name', {
    'counts': ['n_patients', 'n_female', 'n_male'] + age_counts + tier_counts,
    'partitions': [
        ('n_patients', ['n_female', 'n_male']),
        ('n_patients', age_counts),
        ('n_patients', tier_counts),
    ],
    'headline': ['n_patients'],
}, fixed_cells='fixed_cells', fixed_source='segment_tier_matrix') }},

-- This mart's figures hidden because population_kpis hides a count behind them, and why.
kpi_suppression as (
    {{ kpi_figure_suppression('segment_kpis', kpi_figures) }}
),

-- Most common conditions and interventions: names only, each held by at least min_cell_size patients.
segment_condition_counts as (
    select patients.segment_name, patient_conditions.condition_label as item, count(*) as n_holders
    from patients
    inner join patient_conditions
        on patients.subject_id = patient_conditions.subject_id
    group by patients.segment_name, patient_conditions.condition_label
),

segment_intervention_counts as (
    select patients.segment_name, trim(intervention.item) as item, count(*) as n_holders
    from patients
    {{ cross_join_split('patients.recommended_interventions', "';'", 'intervention', 'item') }}
    group by patients.segment_name, trim(intervention.item)
),

top_conditions as (
    {{ top_items('segment_condition_counts', 'segment_name', top_list_length, min_cell_size) }}
),

top_interventions as (
    {{ top_items('segment_intervention_counts', 'segment_name', top_list_length, min_cell_size) }}
)

select
    segment_counts.segment_name::{{ dbt.type_string() }} as segment_name,
    suppressed_counts.n_patients::bigint as n_patients,
    {{ bi_round('suppressed_counts.n_patients / nullif(population.n_patients, 0)', 'proportion') }}
        as share_of_population,
    suppressed_counts.n_female::bigint as n_female,
    suppressed_counts.n_male::bigint as n_male,
    {{ bi_round('suppressed_counts.n_female / nullif(suppressed_counts.n_patients, 0)', 'proportion') }}
        as share_female,
    {%- for band, suffix in age_bands %}
    suppressed_counts.n_age_{{ suffix }}::bigint as n_age_{{ suffix }},
    {%- endfor %}
    {%- for tier in risk_tiers %}
    suppressed_counts.n_tier_{{ tier }}::bigint as n_tier_{{ tier }},
    {{ bi_round('suppressed_counts.n_tier_' ~ tier ~ ' / nullif(suppressed_counts.n_patients, 0)', 'proportion') }}
        as share_tier_{{ tier }},
    {%- endfor %}
    -- Averages describe the segment only while its size is shown.
    {%- for average, kind in [('avg_age', 'mean'), ('avg_chronic_conditions', 'mean'),
                              ('avg_charlson_max', 'mean'), ('avg_risk_score', 'score')] %}
    {{ bi_round('case when suppressed_counts.n_patients is not null then segment_counts.' ~ average ~ ' end',
                kind) }} as {{ average }},
    {%- endfor %}
    (case when suppressed_counts.n_patients is not null then top_conditions.items end)::{{ dbt.type_string() }}
        as top_conditions,
    segment_kpis.n_admissions::bigint as n_admissions,
    {{ bi_round('segment_kpis.n_admissions / nullif(suppressed_counts.n_patients, 0)', 'mean') }}
        as admissions_per_patient,
    segment_kpis.avg_los_days::double as avg_los_days,
    segment_kpis.icu_admission_rate::double as icu_admission_rate,
    segment_kpis.ed_admission_rate::double as ed_admission_rate,
    segment_kpis.readmission_rate_30d::double as readmission_rate_30d,
    segment_kpis.readmission_rate_60d::double as readmission_rate_60d,
    segment_kpis.readmission_rate_90d::double as readmission_rate_90d,
    segment_kpis.in_hospital_mortality_rate::double as in_hospital_mortality_rate,
    segment_kpis.one_year_mortality_rate::double as one_year_mortality_rate,
    {{ bi_round('case when suppressed_counts.n_patients is not null then segment_counts.avg_annual_cost_usd end',
                'usd') }} as avg_annual_cost_usd,
    {{ bi_round('case when suppressed_counts.n_patients is not null then segment_counts.total_annual_cost_usd end',
                'usd') }} as total_annual_cost_usd,
    (case when suppressed_counts.n_patients is not null then top_interventions.items end)::{{ dbt.type_string() }}
        as recommended_interventions,
    (suppressed_counts.suppressed_columns is not null or kpi_suppression.suppressed_columns is not null)::boolean
        as is_suppressed,
    nullif(
        concat_ws(', ', suppressed_counts.suppressed_columns, kpi_suppression.suppressed_columns), ''
    )::{{ dbt.type_string() }} as suppressed_columns,
    nullif(
        concat_ws('; ', suppressed_counts.suppression_reasons, kpi_suppression.suppression_reasons), ''
    )::{{ dbt.type_string() }} as suppression_reasons
from segment_counts
inner join suppressed_counts
    on segment_counts.segment_name = suppressed_counts.row_key
inner join segment_kpis
    on segment_counts.segment_name = segment_kpis.dimension_value
inner join kpi_suppression
    on segment_counts.segment_name = kpi_suppression.dimension_value
cross join population
left join top_conditions
    on segment_counts.segment_name = top_conditions.group_key
left join top_interventions
    on segment_counts.segment_name = top_interventions.group_key
